"""Party oversight of research institutions.

Source: Anna Ares's account (MERICS), as the 2024 seed article gives it: compulsory ideological
training "to a degree not seen since the reform and opening up"; party committees with more
decision power (merged with presidents' offices in January 2024); centralization "to advance core
technologies ... quickly and smoothly"; politicization making foreign partners see Chinese
counterparts as less "entirely professional".

Rules, with o the institution's intensity = min(1, intensity x (1 + merged_amplification if
merged)):
- time: the share of working time left for research is (1 - other_duties) x (1 - max_time_cost x
  o): duties other than oversight (grant applications, reporting, evaluation, teaching; Huang
  Yanhong 2011 names them as what crowds out research) take their share, training and
  procedures a share of the rest. Only the total is pinned by data (huang_research_time);
- approval, in rounds every `round_interval_years`: a researcher who wants to explore and has no
  project waits for the next round; there the proposal is refused with chance
  o x max_rejection x (1 - priority_favor if aligned with a priority)
    x (1 - favor x (2 x rank - 1)).
  The leadership sets the criterion: a political one ranks proposers by their ties
  (favor = loyalty_favor), a technocratic one by merit, the record-based part of the last score
  (favor = merit_favor); ranks are uniform in [0, 1], so the criterion moves who is approved, not
  how many. A refused proposal is reshaped toward national priorities with chance
  reshape_chance (aligned at the next round; the project then loses reshape_cost of its impact)
  or dropped, a new one going to the next round. Either way, a refusal costs a round's wait;
- centralization: at each institution, priority fields' funding weight is multiplied by
  1 + centralization x intensity under political leadership, and by 1 + centralization x
  intensity x technocratic_concentration under technocratic leadership;
- distrust: foreign partners' willingness to start collaborations falls by a share
  distrust x o (see collaboration.py).
Leaderships differ in approval and in funding only where `leadership.approval_differs` and
`leadership.funding_differs` are set (otherwise technocratic ones act like political ones).
The approval itself is applied in the compiled pass (kernels.py), from the chances set here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mechanism import Mechanism
from .metrics import Run, Step
from .params import ACCEPTED, ARES, PROVISIONAL, UNPINNED, fitted, param


@dataclass
class OversightParams:
    intensity: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="Strength of party oversight of research institutions",
        source=ARES,
        label="oversight intensity",
        short="oversight",
        policy=True,
    )
    max_time_cost: float = param(
        0.475,
        0.0,
        1.0,
        unit="share of the time other duties leave",
        doc="Time taken by training and procedures at intensity 1",
        source=UNPINNED,
        plausible=(0.0817, 0.486),
        plausible_source=ACCEPTED,
    )
    other_duties: float = param(
        0.372,
        0.0,
        0.95,
        unit="share of working time",
        doc="Working time taken by duties other than party oversight (grant applications, "
        "reporting, evaluation, teaching); research time is (1 - other_duties) x "
        "(1 - max_time_cost x intensity)",
        source=fitted("huang_research_time"),
        label="other duties",
        short="other duties",
        plausible=(0.326, 0.477),
        plausible_source=ACCEPTED,
    )
    merged_amplification: float = param(
        0.5,
        0.0,
        2.0,
        unit="x intensity",
        doc="Extra intensity where leadership is merged",
        source=ARES,
        plausible=(0.2, 1.0),
        plausible_source=PROVISIONAL,
    )
    max_rejection: float = param(
        0.6,
        0.0,
        1.0,
        unit="probability",
        doc="Chance an exploratory proposal is refused at intensity 1",
        source=ARES,
        plausible=(0.3, 0.8),
        plausible_source=PROVISIONAL,
    )
    priority_favor: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Cut in refusals for proposals in priority fields",
        source=ARES,
        plausible=(0.4, 0.9),
        plausible_source=PROVISIONAL,
    )
    loyalty_favor: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="How far a political leadership's approval follows ties: refusal x "
        "(1 - favor x (2 x the proposer's tie rank - 1)), the same on average, shifted "
        "toward the well connected",
        source=ARES,
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    merit_favor: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="How far a technocratic leadership's approval follows merit: refusal x "
        "(1 - favor x (2 x the proposer's merit rank - 1))",
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    round_interval_years: float = param(
        0.5,
        0.25,
        5.0,
        unit="years",
        doc="Time between rounds in which exploratory proposals are judged; a proposal "
        "waits for the next round, a refused one for the round after",
        plausible=(0.25, 1.0),
        plausible_source=PROVISIONAL,
    )
    reshape_chance: float = param(
        0.5,
        0.0,
        1.0,
        unit="probability",
        doc="Chance a refused proposal is reshaped toward national priorities (judged as a "
        "priority proposal next round); otherwise it is dropped and a new one is put forward",
        plausible=(0.2, 0.8),
        plausible_source=PROVISIONAL,
    )
    reshape_cost: float = param(
        0.3,
        0.0,
        1.0,
        unit="share of impact",
        doc="Impact a reshaped project loses: its aims follow priorities, not the "
        "researcher's idea",
        plausible=(0.1, 0.5),
        plausible_source=PROVISIONAL,
    )
    centralization: float = param(
        0.6,
        0.0,
        5.0,
        unit="funding multiple at intensity 1",
        doc="Extra funding weight of priority fields per unit intensity, under political "
        "leadership",
        source=ARES,
        plausible=(0.2, 1.2),
        plausible_source=PROVISIONAL,
    )
    distrust: float = param(
        0.6,
        0.0,
        1.0,
        unit="0..1",
        doc="Cut in foreign partners' willingness at intensity 1",
        source=ARES,
        plausible=(0.3, 0.9),
        plausible_source=PROVISIONAL,
    )


def institution_intensity(merged: np.ndarray, p) -> np.ndarray:
    o = p.oversight
    return np.minimum(1.0, o.intensity * (1.0 + o.merged_amplification * merged))


def research_time(intensity_of_researcher: np.ndarray, p) -> np.ndarray:
    """Share of working time left for research: other duties take theirs, oversight a share of
    the rest."""
    o = p.oversight
    return (1.0 - o.other_duties) * (1.0 - o.max_time_cost * intensity_of_researcher)


def tie_rank(ties: np.ndarray, p) -> np.ndarray:
    """A tie's rank among all ties, uniform in [0, 1]: the Beta(1, b) distribution function."""
    return 1.0 - (1.0 - ties) ** p.guanxi.tie_concentration


def merit_rank(merit: np.ndarray) -> np.ndarray:
    """Each researcher's rank by merit, from 0 (lowest) to 1 (highest); equal merits (newcomers,
    or everyone before a record exists) share their average rank."""
    return (average_ranks(merit) - 1.0) / max(merit.size - 1, 1)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, equal values sharing their average rank: `scipy.stats.rankdata(x)`, value
    for value (tests/test_mechanisms.py), without the checks that cost it twice this pass. The
    sort need not be stable: tied values share one rank whatever their order."""
    order = np.argsort(x)
    ordered = x[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(starts, append=x.size)
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(starts + 1 + (counts - 1) / 2, counts)
    return ranks


def judged_on_merit(technocratic: np.ndarray, p) -> np.ndarray:
    """Whose leadership approves on merit (technocratic, where approval differs)."""
    return technocratic & p.leadership.approval_differs


def refusal_probability(intensity, aligned, standing, on_merit, p) -> np.ndarray:
    """Chance a proposal is refused at a round, for proposers of rank `standing` (by merit
    where `on_merit`, else by ties)."""
    o = p.oversight
    favor = np.where(on_merit, o.merit_favor, o.loyalty_favor)
    priority_cut = 1.0 - o.priority_favor * aligned
    return intensity * o.max_rejection * priority_cut * (1.0 - favor * (2.0 * standing - 1.0))


def priority_funding_weight(technocratic: np.ndarray, p) -> np.ndarray:
    """Per institution, the funding weight of its priority fields' researchers."""
    concentration = np.where(
        technocratic & p.leadership.funding_differs, p.leadership.technocratic_concentration, 1.0
    )
    return 1.0 + p.oversight.centralization * p.oversight.intensity * concentration


RESEARCH_TIME = Step("research_time_share", "Research time", "share of working time")


class Oversight(Mechanism):
    name = "oversight"
    parameters = {"oversight": OversightParams}
    researcher_state = {
        "research_time": np.float64,
        "refusal_chance": np.float64,  # at a round, of a proposal in the researcher's field
        "refusal_chance_aligned": np.float64,  # of a proposal aligned with a priority
        "proposal_reshaped": np.bool_,  # the waiting proposal was reshaped after a refusal
        "project_reshaped": np.bool_,  # the running project was
    }
    metrics = (
        RESEARCH_TIME,
        Run(
            "mean_research_time_share",
            "Research time",
            of="research_time_share",
            how="mean",
            unit="share of working time",
            short="research time share",
            answers=("oversight.intensity",),
        ),
    )

    def refresh(self):
        """Intensity and research time change only with parameters and mergers."""
        m, r = self.model, self.model.researchers
        m.institutions.intensity = institution_intensity(m.institutions.merged, self.p)
        time = research_time(m.institutions.intensity, self.p)  # per institution, then looked up
        r.research_time[:] = time[r.institution]
        self.research_time_share = float(r.research_time.mean())
        self._set_refusal_chance()

    def evaluate(self, opening):
        """Ties, merit and leaderships changed: new refusal chances; priority funding."""
        self._set_refusal_chance()
        inst = self.model.institutions
        inst.priority_weight *= priority_funding_weight(inst.technocratic, self.p)

    def _set_refusal_chance(self):
        m, r, p = self.model, self.model.researchers, self.p
        on_merit = judged_on_merit(m.institutions.technocratic[r.institution], p)
        standing = np.where(on_merit, merit_rank(r.merit), tie_rank(r.ties, p))
        intensity = m.institutions.intensity[r.institution]
        r.refusal_chance[:] = refusal_probability(
            intensity, m.fields.priority[r.field], standing, on_merit, p
        )
        r.refusal_chance_aligned[:] = refusal_probability(intensity, True, standing, on_merit, p)

    def replace(self, leavers):
        r = self.model.researchers
        r.proposal_reshaped[leavers] = False
        r.project_reshaped[leavers] = False

    def observe(self, values):
        values["research_time_share"] = self.research_time_share
