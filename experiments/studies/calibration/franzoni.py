"""Where the Franzoni et al. miss comes from: the count-weight contrast with the evaluation's
consequences switched off one at a time.

    python -m experiments.franzoni_channels [OVERRIDE ...]   # Hydra's: seeds=20 researchers=1000

Counting papers (the contrast of `configs/diagnostics/franzoni_channels.yaml`: the count weight
1 against 0) raises papers mostly by splitting work into smaller papers, which leaves projects
alone but spreads an incremental result's impact over more papers. It costs breakthroughs
mostly through what the evaluation score then decides: funding, who leaves, whom others imitate
and whose proposals are favoured in approval. Each row switches one of these consequences off
in both arms (the config's `consequences`), the last row all of them, and gives the
breakthrough and paper ratios, count over impact, at each horizon, with 95% CIs over paired
seeds. The runs go through the engine's runner (`run_tasks`), here or in `workers` processes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sim.model
from sim.params import ParameterError, with_overrides

from ...analysis import stats
from ...engine import preflight
from ...engine.errors import BadInput
from ...engine.runner import run_tasks
from .calibrate import whole
from .calibration import observe

CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs" / "diagnostics"
METRICS = ("breakthrough_rate", "papers_per_researcher_year")


def read_config(overrides: list[str]) -> dict:
    """`configs/diagnostics/franzoni_channels.yaml` composed by Hydra with `overrides`."""
    try:
        return preflight.compose_file(CONFIG_DIR, "franzoni_channels", overrides)
    except BadInput as err:
        raise ParameterError(str(err)) from None


def check(config: dict) -> dict:
    """The config, or ParameterError naming what is wrong: counts and every arm's overrides."""
    for key, low in (("seeds", 2), ("researchers", 1), ("workers", 1)):
        whole(key, config[key], low)
    contrast, defaults = config["contrast"], sim.model.parameters()()
    for overrides in arms(config).values():
        for end in ("high", "low"):
            with_overrides(defaults, **{**overrides, contrast["key"]: contrast[end]})
    return config


def arms(config: dict) -> dict[str, dict]:
    """Row name -> the overrides of both arms: all consequences on, each off, all off."""
    off = config["consequences"]
    every = {key: value for change in off.values() for key, value in change.items()}
    return {"all on (the fitted analogue)": {}} | off | {"all off": every}


def ratio(contrast: dict, overrides: dict, years: float, seed: int, researchers: int) -> dict:
    """One seed: each metric's ratio, the contrast's high arm over its low arm."""
    base = with_overrides(
        sim.model.parameters()(),
        **{"population.n_researchers": researchers, "run.years": years, **overrides},
    )
    high, low = (
        observe(with_overrides(base, **{contrast["key"]: contrast[end]}), seed).metrics
        for end in ("high", "low")
    )
    return {metric: high[metric] / low[metric] for metric in METRICS}


def ratios(config: dict, overrides: dict, years: float) -> dict[str, list[float]]:
    """Per seed (0..seeds-1): each metric's ratio, the contrast's high arm over its low arm."""
    seeds = range(config["seeds"])
    contrast, researchers = config["contrast"], config["researchers"]
    tasks = {seed: (contrast, overrides, years, seed, researchers) for seed in seeds}
    results = run_tasks(ratio, tasks, config["workers"])
    return {metric: [results[seed][metric] for seed in seeds] for metric in METRICS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.franzoni_channels")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides: seeds=20 researchers=1000")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = check(read_config(args.overrides))
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("| consequences of the score | years | breakthroughs, count/impact | papers |")
    print("|---|---|---|---|")
    for years in config["horizons"]:
        for name, overrides in arms(config).items():
            r = ratios(config, overrides, years)
            b, p = (stats.mean_ci(r[m]) for m in METRICS)
            print(
                f"| {name} | {years:.0f} | {b.mean:.3f} ({b.ci_low:.3f} to {b.ci_high:.3f}) "
                f"| {p.mean:.3f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
