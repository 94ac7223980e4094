"""Summary statistics reported each step: funding inequality and allocation efficiency."""

import numpy as np


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: equal, near 1: one holds everything)."""
    x = np.sort(x)
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return 0.0
    return float((2.0 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def allocation_efficiency(funding: np.ndarray, ability: np.ndarray) -> float:
    """How well funding tracks ability: Pearson correlation of log funding with log ability."""
    a, b = np.log(funding), np.log(ability)
    a -= a.mean()
    b -= b.mean()
    spread = np.sqrt((a @ a) * (b @ b))
    if spread == 0:
        return 0.0
    return float(np.clip(a @ b / spread, -1.0, 1.0))


def rate_per_thousand(count: float, researchers: float, years: float) -> float:
    """Events per 1,000 researcher-years."""
    exposure = researchers * years
    return 1000.0 * count / exposure if exposure > 0 else 0.0
