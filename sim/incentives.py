"""Publication-count evaluation and rewards.

Source: Han Xueying's account (2024 seed article): "a complex performance measurement system ...
characterized by extensive assessment and ranking", success "almost entirely measured by ...
publications", "enormous performance pressure", and a reward system that "encourages short-term
research"; cash-per-paper policies (Quan, Chen & Shu 2017); long-term, failure-tolerant funding
(Azoulay, Graff Zivin & Manso 2011).

Rules, at each evaluation:
- counting papers invites splitting work into more, smaller papers: incremental work yields
  1 + paper_splitting x w times the papers, each with that much less impact ("salami slicing");
- the record counts papers and recognized impact of the last `evaluation_window_years`;
  credited papers add failure_tolerance x the incremental papers that exploratory time forwent;
- score = w x z(credited papers) + (1 - w) x z(log(1 + recognized impact)) + guanxi favour,
  with w = publication_weight and z the standardization over all researchers, clipped to +-3;
- a newcomer has no record yet: its first score is the favour of its own ties.
Each step this mechanism opens the record's row for the quarter, which the compiled pass
(production.py, kernels.py) fills with credited papers and recognized impact.
"""

import numpy as np

from . import kernels
from .mechanism import Mechanism, steps_for
from .params import IncentivesParams

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


def splitting_factor(p) -> float:
    """Papers per unit of incremental work, relative to an evaluation blind to counts."""
    return 1.0 + p.incentives.paper_splitting * p.incentives.publication_weight


def standardize(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def scores(papers, impact, bonus, p) -> np.ndarray:
    w = p.incentives.publication_weight
    merit = w * standardize(papers) + (1.0 - w) * standardize(np.log1p(impact))
    return np.clip(merit + bonus, -SCORE_CLIP, SCORE_CLIP)


class Incentives(Mechanism):
    name = "incentives"
    parameters = {"incentives": IncentivesParams}
    researcher_state = {"score": np.float64}

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
        r.score[:] = scores(*self.record.totals(), r.favour, self.p)

    def replace(self, leavers):
        r = self.model.researchers
        self.record.clear(leavers)
        r.score[leavers] = np.clip(r.favour[leavers], -SCORE_CLIP, SCORE_CLIP)
