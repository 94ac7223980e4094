"""How even ABC-SMC's importance weights stay, by the width of its proposal kernel.

A test problem shaped like the calibration: 12 parameters on uniform priors, 6 noisy linear
statistics (a ridge: fewer statistics than parameters), a quantile epsilon at the median, 200
particles, 6 generations. For each kernel scaling (times pyabc's default bandwidth) it prints
each generation's effective sample size, 1 / sum(w^2), and its proposals. A narrow kernel
gives the few particles it proposes far out huge weights (prior over proposal density), so the
population degenerates; a wider kernel keeps the weights even for about as many proposals.
`python -m benchmarks.abc_weights`
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pyabc

from .common import Row, print_table

PARAMETERS, STATISTICS, PARTICLES, GENERATIONS = 12, 6, 200, 6
SCALINGS = (1.0, 1.5, 2.0, 3.0)


def run(scaling: float, folder: Path) -> list[tuple[float, int]]:
    """(effective sample size, proposals) of each generation."""
    loadings = np.random.default_rng(0).normal(size=(STATISTICS, PARAMETERS))

    def model(p):
        x = np.array([p[f"p{i}"] for i in range(PARAMETERS)])
        y = loadings @ x + np.random.normal(0, 0.3, STATISTICS)  # noqa: NPY002 (pyabc's generator)
        return {f"s{j}": y[j] for j in range(STATISTICS)}

    observed = {f"s{j}": v for j, v in enumerate(loadings @ np.full(PARAMETERS, 0.5))}
    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", 0, 1) for i in range(PARAMETERS)})
    abc = pyabc.ABCSMC(
        model,
        prior,
        lambda x, y: np.sqrt(np.mean([(x[k] - y[k]) ** 2 for k in y])),
        population_size=PARTICLES,
        transitions=pyabc.MultivariateNormalTransition(scaling=scaling),
        sampler=pyabc.SingleCoreSampler(),
        eps=pyabc.QuantileEpsilon(alpha=0.5),
    )
    np.random.seed(1)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    abc.new(f"sqlite:///{folder / f'abc_{scaling}.db'}", observed)
    history = abc.run(max_nr_populations=GENERATIONS)
    proposals = history.get_all_populations().set_index("t")["samples"]
    out = []
    for t in range(history.max_t + 1):
        _, weights = history.get_distribution(t=t)
        out.append((1.0 / float(np.sum(weights**2)), int(proposals.loc[t])))
    return out


def main() -> None:
    logging.getLogger("ABC").setLevel(logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for scaling in SCALINGS:
            generations = run(scaling, Path(folder))
            later = [ess for ess, _ in generations[1:]]
            rows.append(
                Row(
                    f"kernel scaling {scaling:g}",
                    f"ESS {min(later):.0f}-{max(later):.0f} of {PARTICLES}",
                    f"{sum(n for _, n in generations)} proposals",
                )
            )
    print_table(rows)


if __name__ == "__main__":
    main()
