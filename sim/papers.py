"""Papers: a cohort of papers by kind, date and impact over time, and its top-1% shares.

Source: Wang, Veugelers & Stephan 2017 (Research Policy 46(8); Stephan, Veugelers & Wang 2017,
Nature 544:411): among the papers of one publication year, the share of highly novel papers
that are in the top 1% by citations within 3 and within 15 years of publication, against the
share of the other papers; novel papers are almost 60% more likely to be top 1% at 15 years
and less likely at 3 (docs/sources.md, section 1).

Rule. The papers production makes (production.py) during the first
`production.paper_cohort_years` recorded years form the cohort; each is kept with its kind, the
step it was made and its impact over time:
- routine: an incremental paper. Its impact is log-normal with mean a / k and log-s.d.
  `production.incremental_impact_sigma`, recognized at once. Production counts a breakthrough
  for a researcher's step with chance n x P(impact > threshold) for n papers; the cohort draws
  one of those n papers' impact above the threshold when production counted one, and the
  others below it (inverse CDF of the conditional log-normal), so each paper's impact has the
  stated log-normal law (exactly as far as n x P is production's chance of one or more) and
  the breakthroughs production counts are the cohort's papers above the threshold;
- exploratory: a paper of an exploratory project. A finished project makes w papers
  (production.project_paper_count, possibly a fraction); a successful one's impact is in one
  lead paper (weight min(w, 1)), recognized after its recognition delay (the step it is due
  in production's RecognitionQueue); the project's other papers and a flop's have none.
A paper's impact within a window of W years is its impact if it is recognized within W years
of the step it was made, else 0. It counts whether or not its author is still in post (a
paper's citations are the paper's; a leaver's researcher-level impact is not credited, as
production says). The top 1% at W years is by rank within the cohort, all kinds together,
each paper weighted by the papers it stands for (an entry is top when the papers ranked above
it are under 1% of the cohort's papers), and only papers with some impact qualify. A kind's
top share is the weight of its top papers over the weight of its papers; the hit ratio is the
exploratory top share over the routine one (infinite when only exploratory papers are top).

Memory: only the cohort is kept, papers made in the first `paper_cohort_years` recorded years
(none during the burn-in, none after), one entry per routine paper and one or two per finished
project, so the cohort's size depends on the number of researchers and on the cohort's years,
not on the run's length (about 3 entries per researcher at the defaults).

Outputs. A window's shares are known once the whole cohort has been observed that long: at the
step where the last cohort paper reaches W years, the step metrics count the cohort's papers
and top papers by kind (0 at other steps), and `run_metrics()` gives each kind's top share at 3
and 15 years (0, as every ratio of no papers, when the run ends before that step: runs shorter
than the cohort's years plus W). A default run of 20 years observes a cohort of 5 years for 15
years. `PaperCohort.hit_ratio` (and the calibration's `paper_hit_ratio`) is the exploratory
share over the routine one, infinite when only exploratory papers are top, NaN unobserved.

Random numbers: routine papers' impacts come from the stream `papers` (streams.py), drawn only
for cohort papers; no other mechanism's draws change. Their number follows the papers made, so
two arms share these draws only as far as they make the same papers.
"""

import math

import numpy as np
from scipy.special import ndtr, ndtri

from .mechanism import steps_for
from .metrics import Run, Step

WINDOWS = (3.0, 15.0)  # years after publication (Wang, Veugelers & Stephan 2017)
TOP_SHARE = 0.01  # the top 1% of the cohort's papers
KINDS = ("routine", "exploratory")
ROUTINE, EXPLORATORY = range(2)


def counted(kind: str, window: float) -> str:
    return f"cohort_{kind}_papers_{window:g}y"


def top(kind: str, window: float) -> str:
    return f"cohort_{kind}_top_{window:g}y"


def top_share(kind: str, window: float) -> str:
    return f"{kind}_top_share_{window:g}y"


def _metrics() -> tuple:
    steps, runs = [], []
    for window in WINDOWS:
        for kind in KINDS:
            steps.append(
                Step(
                    counted(kind, window),
                    f"Cohort's {kind} papers, counted when their {window:g}-year window closes",
                    "papers",
                    count=True,
                )
            )
            steps.append(
                Step(
                    top(kind, window),
                    f"Cohort's {kind} papers in its top 1% by impact within {window:g} years",
                    "papers",
                    count=True,
                )
            )
            runs.append(
                Run(
                    top_share(kind, window),
                    f"{kind.capitalize()} papers of the cohort in its top 1% at {window:g} years",
                    of=top(kind, window),
                    over=counted(kind, window),
                    how="ratio",
                    per=1.0,
                    unit=f"share of the cohort's {kind} papers",
                    short=f"{kind} top-1% share, {window:g} years",
                )
            )
    return (*steps, *runs)


METRICS = _metrics()


def routine_impacts(mean_impact, papers, hit, u, sigma: float, threshold: float) -> np.ndarray:
    """Impacts of routine papers, one per paper: researcher j made papers[j] of mean impact
    mean_impact[j], and its first paper is above `threshold` when hit[j] (production counted a
    breakthrough), every other below it; u are uniforms in (0, 1), one per paper."""
    papers = papers.astype(np.int64)
    owner = np.repeat(np.arange(papers.size), papers)
    first = np.r_[True, owner[1:] != owner[:-1]] if owner.size else np.empty(0, bool)
    mean = mean_impact[owner]
    if sigma == 0:
        return mean.copy()
    mu = np.log(mean) - sigma**2 / 2  # the log-normal with this mean
    if threshold <= 0:
        return np.exp(mu + sigma * ndtri(u))
    z_cut = (math.log(threshold) - mu) / sigma
    above = first & hit[owner]
    z = np.where(above, -ndtri(u * ndtr(-z_cut)), ndtri(u * ndtr(z_cut)))
    return np.exp(mu + sigma * z)


def top_shares(kind, weight, impact, made, due, window_years: float) -> tuple[float, float]:
    """(routine, exploratory) share of papers in the cohort's top 1% within `window_years`."""
    within = np.where(due - made <= steps_for(window_years), impact, 0.0)
    order = np.argsort(-within, kind="stable")
    above = np.cumsum(weight[order]) - weight[order]  # papers ranked above each entry
    is_top = np.zeros(weight.size, bool)
    is_top[order] = (above < TOP_SHARE * weight.sum()) & (within[order] > 0)
    shares = []
    for k in (ROUTINE, EXPLORATORY):
        of_kind = kind == k
        total = weight[of_kind].sum()
        shares.append(float(weight[of_kind & is_top].sum() / total) if total else math.nan)
    return shares[0], shares[1]


def ratio_of_shares(exploratory: float, routine: float) -> float:
    """Exploratory over routine share: infinite when only exploratory papers are top."""
    if math.isnan(exploratory) or math.isnan(routine) or (exploratory == routine == 0):
        return math.nan
    return exploratory / routine if routine else math.inf


class PaperCohort:
    """The cohort's papers (made at steps first_step .. first_step + steps - 1): kind, weight
    (papers the entry stands for), impact, step made and step its impact is recognized."""

    FIELDS = ("kind", "weight", "impact", "made", "due")

    def __init__(self, first_step: int, cohort_years: float):
        self.first_step = first_step
        self.steps = steps_for(cohort_years) if cohort_years > 0 else 0
        self.now = first_step - 1  # the last step observed
        self._chunks: list[tuple] = []

    @property
    def last_step(self) -> int:
        return self.first_step + self.steps - 1

    def recording(self, step: int) -> bool:
        return self.first_step <= step <= self.last_step

    def closes(self, window_years: float) -> int:
        """The step at whose end every cohort paper has been observed `window_years`."""
        return self.last_step + steps_for(window_years)

    def observed(self, window_years: float) -> bool:
        return self.steps > 0 and self.now >= self.closes(window_years)

    def add(self, kind: int, step: int, weight, impact, due) -> None:
        weight = np.atleast_1d(np.asarray(weight, float))
        size = weight.size
        self._chunks.append(
            (
                np.full(size, kind, np.int8),
                weight,
                np.broadcast_to(np.asarray(impact, float), size).copy(),
                np.full(size, step, np.int64),
                np.broadcast_to(np.asarray(due, np.int64), size).copy(),
            )
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The cohort's papers, one entry each (a project's lead paper and its other papers are
        two entries), in the order recorded."""
        if len(self._chunks) != 1:  # merged once, so later calls are cheap
            empty = (np.empty(0, np.int8), *(np.empty(0) for _ in range(2)))
            empty += (np.empty(0, np.int64), np.empty(0, np.int64))
            parts = self._chunks or [empty]
            self._chunks = [tuple(np.concatenate(c) for c in zip(*parts, strict=True))]
        return dict(zip(self.FIELDS, self._chunks[0], strict=True))

    def papers_by_kind(self) -> tuple[float, float]:
        a = self.arrays()
        return tuple(float(a["weight"][a["kind"] == k].sum()) for k in (ROUTINE, EXPLORATORY))

    def top_shares(self, window_years: float) -> tuple[float, float]:
        """(routine, exploratory) top-1% shares within `window_years`; NaN until observed."""
        if not self.observed(window_years):
            return math.nan, math.nan
        return top_shares(**self.arrays(), window_years=window_years)

    def hit_ratio(self, window_years: float) -> float:
        routine, exploratory = self.top_shares(window_years)
        return ratio_of_shares(exploratory, routine)

    def observe(self, values: dict) -> None:
        """The step metrics: the cohort's papers and top papers by kind, counted at the step
        where a window closes, 0 at any other."""
        for window in WINDOWS:
            closing = self.steps > 0 and self.now == self.closes(window)
            shares = self.top_shares(window) if closing else (0.0, 0.0)
            papers = self.papers_by_kind() if closing else (0.0, 0.0)
            for k, kind in enumerate(KINDS):
                values[counted(kind, window)] = papers[k]
                values[top(kind, window)] = shares[k] * papers[k] if papers[k] else 0.0
