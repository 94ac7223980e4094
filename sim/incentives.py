"""Publication-count evaluation and rewards.

Source: Han Xueying's account (2024 seed article): "a complex performance measurement system ...
characterized by extensive assessment and ranking", success "almost entirely measured by ...
publications", "enormous performance pressure", and a reward system that "encourages short-term
research"; cash-per-paper policies (Quan, Chen & Shu 2017); long-term, failure-tolerant funding
(Azoulay, Graff Zivin & Manso 2011).

Rules, at each evaluation:
- the record counts papers and recognized impact of the last `evaluation_window_years`;
  credited papers add failure_tolerance x the incremental papers that exploratory time forwent;
- score = w x z(credited papers) + (1 - w) x z(log(1 + recognized impact)) + guanxi bonus,
  with w = publication_weight and z the standardization over all researchers, clipped to +-3;
- funding (mean 1) is proportional to institution wealth x field weight x
  exp(funding_steepness x score); the field weight carries centralization and self-reliance.
"""

import numpy as np

SCORE_CLIP = 3.0


class Record:
    """Credited papers and recognized impact per researcher over a sliding window of steps."""

    def __init__(self, n: int, capacity: int, window: int):
        self.rows = np.zeros((capacity, 2, n))  # ring buffer: step -> [papers, impact] x n
        self.sums = np.zeros((2, n))
        self.capacity, self.window, self.cursor = capacity, min(window, capacity), 0

    def add(self, credited_papers: np.ndarray, impact: np.ndarray) -> None:
        row = self.rows[self.cursor]
        self.sums -= self.rows[(self.cursor - self.window) % self.capacity]  # leaves the window
        row[0], row[1] = credited_papers, impact
        self.sums += row
        self.cursor = (self.cursor + 1) % self.capacity

    def set_window(self, window: int) -> None:
        self.window = min(window, self.capacity)
        latest = (self.cursor - 1 - np.arange(self.window)) % self.capacity
        self.sums = self.rows[latest].sum(axis=0)

    def clear(self, idx: np.ndarray) -> None:
        self.rows[:, :, idx] = 0.0
        self.sums[:, idx] = 0.0

    @property
    def papers(self) -> np.ndarray:
        return self.sums[0]

    @property
    def impact(self) -> np.ndarray:
        return self.sums[1]


def standardize(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def scores(papers, impact, bonus, p) -> np.ndarray:
    w = p.incentives.publication_weight
    merit = w * standardize(papers) + (1.0 - w) * standardize(np.log1p(impact))
    return np.clip(merit + bonus, -SCORE_CLIP, SCORE_CLIP)


def funding(score, weight, p) -> np.ndarray:
    """Funding with mean 1: proportional to weight x exp(steepness x score)."""
    raw = weight * np.exp(p.incentives.funding_steepness * score)
    return raw * (raw.size / raw.sum())
