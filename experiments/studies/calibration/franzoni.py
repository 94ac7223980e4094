"""Where the Franzoni et al. miss comes from: the count-weight contrast with the evaluation's
consequences switched off one at a time.

    python -m experiments.franzoni_channels [--seeds 10] [--researchers 2000]

Counting papers (incentives.publication_weight 1 against 0) raises papers mostly by splitting
work into smaller papers, which leaves projects alone but spreads an incremental result's
impact over more papers, so that a few fewer cross the breakthrough threshold. It costs
breakthroughs mostly through what the evaluation score then decides: funding
(`incentives.funding_steepness`), who leaves (`careers.exit_per_year`), whom others imitate
(`careers.imitation_per_year`) and whose proposals are favoured in approval
(`oversight.merit_favor`). Each row switches one of these off in both arms, the last row all
four, and gives the breakthrough and paper ratios, count over impact, after 3 and 20 years, with
95% CIs over paired seeds (docs/calibration.md).
"""

from __future__ import annotations

import argparse

import numpy as np

import sim.model
from sim.params import with_overrides

from ...analysis import stats
from .calibration import observe

CONSEQUENCES = {
    "funding flat in the score": {"incentives.funding_steepness": 0.0},
    "no exit": {"careers.exit_per_year": 0.0},
    "no imitation": {"careers.imitation_per_year": 0.0},
    "no merit favour in approval": {"oversight.merit_favor": 0.0},
}
ARMS = {"all on (the fitted analogue)": {}} | CONSEQUENCES
ARMS["all four off"] = {k: v for change in CONSEQUENCES.values() for k, v in change.items()}
HORIZONS = (3.0, 20.0)


def ratios(overrides: dict, years: float, seeds: range, researchers: int) -> dict[str, np.ndarray]:
    """Per seed: breakthrough and paper ratios, count weight 1 over 0."""
    base = with_overrides(
        sim.model.parameters()(),
        **{"population.n_researchers": researchers, "run.years": years, **overrides},
    )
    out = {"breakthrough_rate": [], "papers_per_researcher_year": []}
    for seed in seeds:
        count, impact = (
            observe(with_overrides(base, **{"incentives.publication_weight": w}), seed).metrics
            for w in (1.0, 0.0)
        )
        for metric, values in out.items():
            values.append(count[metric] / impact[metric])
    return {k: np.array(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.franzoni_channels")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--researchers", type=int, default=2000)
    args = parser.parse_args(argv)
    print("| consequences of the score | years | breakthroughs, count/impact | papers |")
    print("|---|---|---|---|")
    for years in HORIZONS:
        for name, overrides in ARMS.items():
            r = ratios(overrides, years, range(args.seeds), args.researchers)
            b, p = (stats.mean_ci(r[m]) for m in r)
            print(
                f"| {name} | {years:.0f} | {b.mean:.3f} ({b.ci_low:.3f} to {b.ci_high:.3f}) "
                f"| {p.mean:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
