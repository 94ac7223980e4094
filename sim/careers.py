"""Careers and learning: exit of the lowest scores, entry, and imitation of better-scoring peers.

Source: Smaldino & McElreath 2016 ("the natural selection of bad science": labs whose methods
win under the incentives are copied, the others die out); Han Xueying's account of "enormous
performance pressure" (2024 seed article).

Rules, at each evaluation, dt years after the last (rates are per year, so the evaluation
interval changes when things happen, not how often):
- the share 1 - (1 - exit_per_year)^dt of researchers with the lowest scores leave; among equal
  scores (researchers with no record and no favour score alike), chance decides who;
- every researcher retires with chance 1 - (1 - 1 / career_years)^dt, whatever the score: careers
  end, so the population reaches a selection equilibrium instead of drifting toward ever higher
  ability (docs/ODD.md, section 7);
- each leaver is replaced in the same post (field and institution) by a newcomer, whose state
  every mechanism sets (`replace`): fresh ability and ties, no record, no project and no foreign
  collaborator;
- a newcomer takes the exploratory share of a mentor chosen with chance proportional to funding
  (the visible, rewarded researchers), plus noise;
- each incumbent, with chance 1 - (1 - imitation_per_year)^dt, looks at a peer chosen the same
  way and copies the peer's exploratory share, plus noise, if the peer scored higher;
- noise is normal with s.d. `imitation_noise`; shares are kept in [0, 1].
At the start, exploratory shares are normal around `population.initial_exploratory_share` with
s.d. `population.initial_exploratory_spread`, clipped to [0, 1].

Draws: four words of this mechanism's stream per researcher and evaluation (streams.py), whose
uniforms are, in order: try, peer, copy noise, mentor, mentor noise, retire, tie. Normal noise
is the inverse normal CDF of a uniform, taken only where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from . import kernels, streams
from .mechanism import STEP_YEARS, Mechanism
from .metrics import Run, Step
from .params import PROVISIONAL, param


@dataclass
class CareersParams:
    exit_per_year: float = param(
        0.05,
        0.0,
        0.5,
        unit="share per year",
        doc="Lowest-scoring share of researchers who leave research in a year (an evaluation "
        "interval of dt years removes 1 - (1 - share)^dt of them)",
        source="Smaldino & McElreath 2016",
        plausible=(0.02, 0.1),
        plausible_source=PROVISIONAL,
    )
    career_years: float = param(
        30.0,
        1.0,
        1e9,
        unit="years",
        doc="Mean length of a research career: each researcher retires with chance "
        "1 / career_years a year, whatever the score",
        plausible=(20.0, 40.0),
        plausible_source=PROVISIONAL,
    )
    imitation_per_year: float = param(
        0.2,
        0.0,
        1.0,
        unit="per year",
        doc="Chance in a year that an incumbent compares with a random peer and copies "
        "a better-scoring peer's strategy",
        source="Smaldino & McElreath 2016",
        plausible=(0.05, 0.4),
        plausible_source=PROVISIONAL,
    )
    imitation_noise: float = param(
        0.05,
        0.0,
        1.0,
        unit="share",
        doc="Noise (s.d.) added to a copied exploratory share",
        plausible=(0.02, 0.1),
        plausible_source=PROVISIONAL,
    )


WORDS = 4
TRY, PEER, COPY_NOISE, MENTOR, MENTOR_NOISE, RETIRE, TIE = range(7)


def per_interval(rate_per_year: float, years: float) -> float:
    """The chance over `years` of an event with chance `rate_per_year` in each year."""
    return 1.0 - (1.0 - rate_per_year) ** years


def lowest(score: np.ndarray, fraction: float, u_tie: np.ndarray) -> np.ndarray:
    """Indices of the `fraction` of researchers with the lowest scores; among equal scores at
    the cut, those with the lowest `u_tie` (a uniform each), so that chance, not a post's
    place in the arrays, decides."""
    k = int(round(fraction * score.size))
    if k == 0:
        return np.empty(0, dtype=np.intp)
    cut = np.partition(score, k - 1)[k - 1]
    below = np.flatnonzero(score < cut)
    tied = np.flatnonzero(score == cut)
    return np.concatenate([below, tied[np.argsort(u_tie[tied])[: k - below.size]]])


def choose_by_funding(funding: np.ndarray, u: np.ndarray, cumulative=None) -> np.ndarray:
    """For each uniform u, an index chosen with chance proportional to funding.

    The inverse-CDF search runs on the sorted targets: the same indices, found in one walk of
    the cumulative funding (kernels.search_sorted_targets).
    `cumulative` (np.cumsum(funding)) may be passed when several choices share one funding.
    """
    if cumulative is None:
        cumulative = np.cumsum(funding)
    target = u * cumulative[-1]
    order = np.argsort(target)
    found = np.empty(target.size, dtype=np.intp)
    kernels.search_sorted_targets(cumulative, target[order], found)
    chosen = np.empty(target.size, dtype=np.intp)
    chosen[order] = found
    return np.minimum(chosen, funding.size - 1, out=chosen)


def copied_share(model_share: np.ndarray, u_noise: np.ndarray, p) -> np.ndarray:
    """The model's share plus normal noise (by inverse CDF of uniforms in (0, 1)), in [0, 1]."""
    return np.clip(model_share + p.careers.imitation_noise * ndtri(u_noise), 0.0, 1.0)


def leaving(score, u_retire, u_tie, p, dt) -> np.ndarray:
    """Posts whose researcher leaves: the lowest scores and those who retire (sorted)."""
    c = p.careers
    dismissed = lowest(score, per_interval(c.exit_per_year, dt), u_tie)
    retiring = np.flatnonzero(u_retire < per_interval(1.0 / c.career_years, dt))
    return np.union1d(dismissed, retiring)


def imitate(share, score, funding, u_try, u_pick, u_noise, p, dt, cumulative=None) -> np.ndarray:
    """New exploratory shares after incumbents copy better-scoring, funding-weighted peers.

    Only those who try (u_try < the chance over dt years) pick a peer, so the search for peers
    runs on that subset; every researcher still owns its uniforms, whatever the rate.
    """
    tries = np.flatnonzero(u_try < per_interval(p.careers.imitation_per_year, dt))
    peer = choose_by_funding(funding, u_pick[tries], cumulative)
    better = score[peer] > score[tries]
    copies, peer = tries[better], peer[better]
    out = share.copy()
    out[copies] = copied_share(share[peer], u_noise[copies], p)
    return out


EXPLORATORY_SHARE = Step("exploratory_share", "Exploratory share", "share of research time")
FINAL_EXPLORATORY_SHARE = Run(
    "final_exploratory_share",
    "Exploratory share at the end",
    of="exploratory_share",
    how="last",
    unit="share of research time",
    short="exploratory share (end)",
    answers=(
        "incentives.publication_weight",
        "incentives.evaluation_window_years",
        "incentives.failure_tolerance",
    ),
)


class Careers(Mechanism):
    name = "careers"
    parameters = {"careers": CareersParams}
    researcher_state = {"exploratory_share": np.float64, "hired_quarter": np.int64}
    metrics = (
        EXPLORATORY_SHARE,
        Step("years_in_post", "Years in post", "years, mean over researchers"),
        Run(
            "mean_years_in_post",
            "Years in post",
            of="years_in_post",
            how="mean",
            unit="years, mean over researchers",
            short="years in post",
        ),
        Run(
            "mean_exploratory_share",
            "Exploratory share",
            of="exploratory_share",
            how="mean",
            unit="share of research time",
        ),
        FINAL_EXPLORATORY_SHARE,
    )

    def initialize(self):
        pop = self.p.population
        share = pop.initial_exploratory_share + pop.initial_exploratory_spread * ndtri(
            self.rng.random(self.model.n)
        )
        self.model.researchers.exploratory_share[:] = np.clip(share, 0.0, 1.0)

    def evaluate(self, opening):
        if opening:
            return
        m, r, p = self.model, self.model.researchers, self.p
        dt = p.incentives.evaluation_interval_years
        words = streams.words(self.rng, WORDS, m.n)
        u_try, u_pick, u_copy_noise, u_retire, u_tie = (
            streams.uniform(words, which) for which in (TRY, PEER, COPY_NOISE, RETIRE, TIE)
        )
        leavers = leaving(r.score, u_retire, u_tie, p, dt)
        u_mentor, u_mentor_noise = (
            streams.uniform(words, which, leavers) for which in (MENTOR, MENTOR_NOISE)
        )
        cumulative = np.cumsum(r.funding)
        share = imitate(
            r.exploratory_share, r.score, r.funding, u_try, u_pick, u_copy_noise, p, dt, cumulative
        )
        mentors = choose_by_funding(r.funding, u_mentor, cumulative)
        self._newcomer_share = copied_share(r.exploratory_share[mentors], u_mentor_noise, p)
        r.exploratory_share = share
        m.replace(leavers)

    def replace(self, leavers):
        r = self.model.researchers
        r.exploratory_share[leavers] = self._newcomer_share
        r.hired_quarter[leavers] = self.model.quarter

    def observe(self, values):
        m, r = self.model, self.model.researchers
        values["exploratory_share"] = float(r.exploratory_share.sum()) / m.n
        values["years_in_post"] = (m.quarter - r.hired_quarter.mean()) * STEP_YEARS
