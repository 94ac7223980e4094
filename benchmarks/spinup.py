"""Spin up once, branch every arm: designs run with one burn-in per seed against one per arm.

`python -m benchmarks.spinup [--quick]` times, in turns in one process (CPU seconds, best of
the repeats), two designs of arms on paired seeds, each run twice: every model built from
scratch with its own 40-year burn-in (as before experiments/engine/spinup.py), and every arm
branched from one spin-up per seed and structure (`SpinUps`):
- the headline sweep: 15 arms (count weight x oversight) x 20 seeds, 2,000 researchers, 20 years;
- Morris-shaped points: 15 structural factors varied per point, 7 arms (the status quo and six
  levers) x 10 seeds at 1,000 researchers x 20 years, on `points` points (the ratio does not
  depend on their number; a full design has 20 trajectories x 16 points).
Prints each design's seconds and the speed-up (the targets of issue 22 are 2.5x and 2x), and
what a recorded year costs against a burn-in year.
`--trees OLD NEW` instead times the headline sweep end to end on the command line
(`python -m experiments.run -m experiment=headline`) in two source trees, in turns (wall-clock).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.engine.spinup import SpinUps
from sim import ResearchModel, with_overrides
from sim.params import parameter_table

from .common import Row, best_times, print_table

LEVER_ARMS = [
    {},
    {"incentives.publication_weight": 1.0},
    {"oversight.intensity": 1.0},
    {"incentives.failure_tolerance": 0.8},
    {"guanxi.weight": 0.0},
    {"leadership.technocrat_share": 0.7},
    {"export_controls.enabled": True},
]
FACTORS = 15  # the first structural parameters with a plausible range (docs/ODD.md)


def headline(n: int, years: float, seeds: int) -> list[tuple]:
    grid = [(w, o) for w in (0, 0.25, 0.5, 0.75, 1) for o in (0, 0.5, 1)]
    arms = [
        with_overrides(
            n_researchers=n,
            years=years,
            **{"incentives.publication_weight": w, "oversight.intensity": o},
        )
        for w, o in grid
    ]
    return [(params, seed) for params in arms for seed in range(seeds)]


def morris_like(points: int, n: int, years: float, seeds: int) -> list[tuple]:
    """Points drawn in the plausible ranges of `FACTORS` parameters, each with 7 lever arms."""
    rng = np.random.default_rng(0)
    ranges = [(r["name"], r["plausible"]) for r in parameter_table() if r.get("plausible")]
    tasks = []
    for _ in range(points):
        moved = {key: rng.uniform(*bounds) for key, bounds in ranges[:FACTORS]}
        point = with_overrides(n_researchers=n, years=years, **moved)
        for arm in LEVER_ARMS:
            tasks += [(with_overrides(point, **arm), seed) for seed in range(seeds)]
    return tasks


def from_scratch(tasks) -> None:
    for params, seed in tasks:
        ResearchModel(params=params, seed=seed).run().run_metrics()


def branched(tasks) -> None:
    spin_ups = SpinUps()
    for params, seed in tasks:
        spin_ups.model(params, seed).run().run_metrics()


def year_costs(n: int, seeds: int, repeats: int) -> Row:
    """CPU milliseconds of a burn-in year (the status quo, nothing recorded) and of a recorded
    year (every step's metrics, the paper cohort), at `n` researchers: what bounds the gain of
    sharing the burn-in below the ratio of step counts."""
    params = with_overrides(n_researchers=n, years=20.0)
    spun = [ResearchModel.spun_up(params=params, seed=seed) for seed in range(seeds)]
    burn_in_years = params.run.burn_in_years
    best = best_times(
        {
            "burn-in": lambda: [ResearchModel.spun_up(params=params, seed=s) for s in range(seeds)],
            "branch": lambda: [m.branch(params) for m in spun],
            "recorded": lambda: [m.branch(params).run().run_metrics() for m in spun],
        },
        repeats,
    )
    burn_in = 1e3 * best["burn-in"] / (seeds * burn_in_years)
    recorded = 1e3 * (best["recorded"] - best["branch"]) / (seeds * params.run.years)
    return Row(
        f"a recorded year against a burn-in year; a branch, {n:,} researchers",
        f"{recorded:.2f} ms against {burn_in:.2f} ms ({recorded / burn_in:.2f}x); "
        f"{1e3 * best['branch'] / seeds:.1f} ms",
    )


def rows(quick: bool = False) -> list[Row]:
    ResearchModel(seed=0, n_researchers=50, years=1).run()  # compile or load the kernels
    seeds = (4, 4) if quick else (20, 10)
    designs = {
        f"headline sweep, 15 arms x {seeds[0]} seeds, 2,000 researchers x 20 years": (
            headline(2000, 20.0, seeds[0]),
            2.5,
        ),
        f"Morris-like points, 7 arms x {seeds[1]} seeds, 1,000 researchers x 20 years": (
            morris_like(1 if quick else 3, 1000, 20.0, seeds[1]),
            2.0,
        ),
    }
    out = []
    for what, (tasks, target) in designs.items():
        best = best_times(
            {"scratch": lambda t=tasks: from_scratch(t), "branched": lambda t=tasks: branched(t)},
            repeats=1 if quick else 2,
        )
        speedup = best["scratch"] / best["branched"]
        out.append(
            Row(
                f"{what}: one burn-in per seed vs per arm",
                f"{best['scratch']:.1f} s -> {best['branched']:.1f} s ({speedup:.2f}x)",
                f">= {target}x",
                speedup >= target,
            )
        )
    out.append(year_costs(2000, 2 if quick else 5, 1 if quick else 3))
    return out


def sweep_seconds(tree: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable,
            "-m",
            "experiments.run",
            "-m",
            "experiment=headline",
            f"hydra.sweep.dir={Path(scratch) / 'sweep'}",
            "--allow-outside-project",
        ]
        started = time.perf_counter()
        subprocess.run(
            command,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": tree},
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def compare_trees(old: str, new: str, repeats: int) -> None:
    best = {"old": float("inf"), "new": float("inf")}
    for _ in range(repeats):
        for name, tree in (("old", old), ("new", new)):
            best[name] = min(best[name], sweep_seconds(tree))
    print(
        f"headline sweep end to end (15 jobs x 20 replicates, basic launcher): "
        f"old {best['old']:.1f} s, new {best['new']:.1f} s; old / new "
        f"{best['old'] / best['new']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trees", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.trees:
        compare_trees(*args.trees, args.repeats)
    else:
        print_table(rows(args.quick))


if __name__ == "__main__":
    main()
