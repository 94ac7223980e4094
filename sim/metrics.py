"""Summary statistics reported each step: funding inequality and allocation efficiency.

Dot products use `np.einsum`, not `@`: `@` calls the multithreaded BLAS, whose threads spin
for work and, on a machine whose cores are busy, can cost a hundred times the product itself.
"""

import numpy as np


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: equal, near 1: one holds everything)."""
    x = np.sort(x)
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return 0.0
    return float(np.einsum("i,i->", 2.0 * np.arange(1, n + 1) - n - 1, x) / (n * total))


def allocation_efficiency(funding: np.ndarray, ability: np.ndarray) -> float:
    """How well funding tracks ability: Pearson correlation of log funding with log ability."""
    a, b = np.log(funding), np.log(ability)
    a -= a.mean()
    b -= b.mean()
    spread = np.sqrt(np.einsum("i,i->", a, a) * np.einsum("i,i->", b, b))
    if spread == 0:
        return 0.0
    return float(np.clip(np.einsum("i,i->", a, b) / spread, -1.0, 1.0))


def rate_per_thousand(count: float, researchers: float, years: float) -> float:
    """Events per 1,000 researcher-years."""
    exposure = researchers * years
    return 1000.0 * count / exposure if exposure > 0 else 0.0
