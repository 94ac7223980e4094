"""Publication-count evaluation and rewards.

Source: Han Xueying's account (2024 seed article): "a complex performance measurement system ...
characterized by extensive assessment and ranking", success "almost entirely measured by ...
publications", "enormous performance pressure", and a reward system that "encourages short-term
research"; cash-per-paper policies (Quan, Chen & Shu 2017); long-term, failure-tolerant funding
(Azoulay, Graff Zivin & Manso 2011).

Rules, at each evaluation:
- counting papers invites splitting work into more, smaller papers: incremental work yields
  1 + paper_splitting x w times the papers, each with that much less impact ("salami slicing");
- the record counts papers and recognized impact of the last `evaluation_window_years`, as
  rates per year in post: a researcher in post for less than a window is judged on the years it
  has held the post, so newcomers are neither penalised for a short record nor excused;
  credited papers add failure_tolerance x the incremental papers that exploratory time forwent;
- merit = w x z(credited papers per year) + (1 - w) x z(log(1 + recognized impact per year)),
  with w = publication_weight and z the standardization over all researchers;
- score = merit + guanxi favour, clipped to +-3;
- a newcomer has no record yet: its first merit is 0 (average) and its score its favour.
Each step this mechanism opens the record's row for the quarter, which the compiled pass
(production.py, kernels.py) fills with credited papers and recognized impact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .mechanism import STEP_YEARS, Mechanism, steps_for
from .params import ACCEPTED, HAN, PROVISIONAL, fitted, param


@dataclass
class IncentivesParams:
    publication_weight: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Weight of paper counts against recognized impact in the evaluation score",
        source=HAN,
        label="publication-count weight",
        short="count weight",
        policy=True,
    )
    evaluation_window_years: float = param(
        3.0,
        0.25,
        20.0,
        unit="years",
        doc="Papers and impact count only if recognized in the last window",
        source=HAN,
        label="evaluation window",
        short="window",
        policy=True,
    )
    evaluation_interval_years: float = param(
        1.0,
        0.25,
        10.0,
        unit="years",
        doc="Time between evaluations (funding, exit)",
        source=HAN,
        plausible=(0.5, 2.0),
        plausible_source=PROVISIONAL,
        label="evaluation interval",
        short="interval",
        policy=True,
    )
    funding_steepness: float = param(
        1.0,
        0.0,
        5.0,
        unit="per score s.d.",
        doc="Funding grows by exp(steepness x score)",
        source=f"{HAN}; cash-per-paper rewards: Quan, Chen & Shu 2017; "
        "Franzoni, Scellato & Stephan 2011",
        plausible=(0.5, 2.0),
        plausible_source=PROVISIONAL,
        label="funding steepness",
        short="steepness",
        policy=True,
    )
    paper_splitting: float = param(
        0.394,
        0.0,
        5.0,
        unit="x papers at weight 1",
        doc="Extra papers from the same incremental work when counts carry all the weight; "
        "impact per paper falls in proportion (salami slicing)",
        source=fitted("franzoni_submissions"),
        plausible=(0.171, 0.518),
        plausible_source=ACCEPTED,
    )
    failure_tolerance: float = param(
        0.0,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of the papers forgone on exploratory work that "
        "the evaluation credits anyway (HHMI-like tolerance)",
        source="Azoulay, Graff Zivin & Manso 2011",
        label="failure tolerance",
        short="failure tolerance",
        policy=True,
    )


SCORE_CLIP = 3.0


class Record:
    """Credited papers and recognized impact per researcher and step, over the longest window.

    A ring buffer of the last `capacity` steps; window totals are summed afresh when asked for
    (once per evaluation), so they are exact and cost nothing in the steps between. A leaver's
    record is forgotten by the step its successor starts (`first_step`), not by zeroing rows.
    """

    def __init__(self, n: int, capacity: int, window: int):
        self.rows = np.zeros((capacity, 2, n), dtype=np.float32)  # step -> [papers, impact] x n
        self.capacity, self.window, self.cursor = capacity, min(window, capacity), 0
        self.steps = 0  # rows written so far
        self.first_step = np.zeros(n, dtype=np.int64)  # first row that counts, per researcher

    def next_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """This step's (credited papers, recognized impact) rows, for the caller to fill."""
        row = self.rows[self.cursor]
        self.cursor = (self.cursor + 1) % self.capacity
        self.steps += 1
        return row[0], row[1]

    def add(self, credited_papers: np.ndarray, impact: np.ndarray) -> None:
        papers_row, impact_row = self.next_rows()
        papers_row[:] = credited_papers
        impact_row[:] = impact

    def set_window(self, window: int) -> None:
        self.window = min(window, self.capacity)

    def clear(self, idx: np.ndarray) -> None:
        """Forget these researchers' record: only rows written from now on count for them."""
        self.first_step[idx] = self.steps

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(credited papers, recognized impact) per researcher over the last `window` steps."""
        totals = kernels.window_totals(
            self.rows, self.cursor, self.window, self.steps, self.first_step
        )
        return totals[0], totals[1]

    def rates(self) -> tuple[np.ndarray, np.ndarray]:
        """(credited papers, recognized impact) per year in post within the window; 0 for a
        researcher with no step in post yet."""
        years = np.clip(self.steps - self.first_step, 0, self.window) * STEP_YEARS
        per_year = np.divide(1.0, years, out=np.zeros(years.size), where=years > 0)
        papers, impact = self.totals()
        return papers * per_year, impact * per_year


def splitting_factor(p) -> float:
    """Papers per unit of incremental work, relative to an evaluation blind to counts."""
    return 1.0 + p.incentives.paper_splitting * p.incentives.publication_weight


def standardize(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def merits(papers_per_year, impact_per_year, p) -> np.ndarray:
    """The record's part of the score, in standard deviations over all researchers."""
    w = p.incentives.publication_weight
    return w * standardize(papers_per_year) + (1.0 - w) * standardize(np.log1p(impact_per_year))


def scores(merit, bonus) -> np.ndarray:
    return np.clip(merit + bonus, -SCORE_CLIP, SCORE_CLIP)


class Incentives(Mechanism):
    name = "incentives"
    parameters = {"incentives": IncentivesParams}
    researcher_state = {"merit": np.float64, "score": np.float64}
    reads_ahead = ("incentives.evaluation_window_years",)  # the record holds the longest window

    def initialize(self):
        m, years = self.model, self.p.incentives.evaluation_window_years
        longest = m.timeline.max_value("incentives.evaluation_window_years", years)
        self.record = Record(m.n, steps_for(longest), steps_for(years))

    def refresh(self):
        self.record.set_window(steps_for(self.p.incentives.evaluation_window_years))

    def step(self):
        r = self.model.researchers
        r.credited_papers, r.recognized_impact = self.record.next_rows()

    def evaluate(self, opening):
        r = self.model.researchers
        r.merit[:] = merits(*self.record.rates(), self.p)
        r.score[:] = scores(r.merit, r.favour)

    def replace(self, leavers):
        r = self.model.researchers
        self.record.clear(leavers)
        r.merit[leavers] = 0.0
        r.score[leavers] = scores(r.merit[leavers], r.favour[leavers])
