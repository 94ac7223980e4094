"""Run a named experiment end to end: the sweep, then its report into `results/NAME/`.

    python -m experiments.headline NAME [--fresh] [OVERRIDE ...]

runs `python -m experiments.run -m experiment=NAME hydra.sweep.dir=results/NAME/runs [OVERRIDE
...]` (a rerun resumes: finished jobs are kept), then writes `results/NAME/report.md`,
`report.html`, `summary.csv`, `contrasts.csv` and `figures/`. `results/*/runs/` holds the raw
job folders and is not committed; the report records the commit, seeds and configuration that
produced it. `--fresh` deletes earlier job folders first (do this after changing the model, since
a resumed sweep keeps jobs run by older code). `make run` calls this with NAME=headline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import report

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TITLES = {
    "headline": "Headline: publication-count weight and party oversight",
    "incentives_oversight": "Publication-count weight × oversight intensity (fine grid)",
    "evaluation_window": "Evaluation window and failure tolerance",
    "export_shock": "The October 2022 export-control shock and self-reliance funding",
    "guanxi_technocrats": "Guanxi weight × technocrat share of leaderships",
    "incentive_presets": "Evaluation regimes: count-heavy, balanced, HHMI-like",
    "scenarios": "The seeds' timeline against no events",
}


def results_dir(name: str) -> Path:
    return Path("results") / name


def run_sweep(name: str, overrides: list[str]) -> None:
    """The colleague-facing runner, exactly as a user would type it."""
    command = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        f"experiment={name}",
        f"hydra.sweep.dir={results_dir(name) / 'runs'}",
        *overrides,
    ]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, check=False)
    if completed.returncode != 0:
        # A failed job leaves the others written; the report lists what is missing.
        print(
            f"warning: the sweep exited with status {completed.returncode}; "
            "reporting on the jobs that finished",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.headline",
        description="Run a named experiment sweep, then write its report into results/NAME/.",
    )
    parser.add_argument("name", metavar="NAME", help="an experiment in configs/experiment/")
    parser.add_argument("--fresh", action="store_true", help="delete earlier job folders first")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every job")
    args = parser.parse_args(argv)
    if not (PROJECT_ROOT / "configs" / "experiment" / f"{args.name}.yaml").is_file():
        known = sorted(p.stem for p in (PROJECT_ROOT / "configs" / "experiment").glob("*.yaml"))
        print(f"error: no experiment '{args.name}'; known: {', '.join(known)}", file=sys.stderr)
        return 2
    out = PROJECT_ROOT / results_dir(args.name)
    if args.fresh:
        shutil.rmtree(out / "runs", ignore_errors=True)
    started = time.perf_counter()
    run_sweep(args.name, args.overrides)
    swept = time.perf_counter()
    command = " ".join(["python -m experiments.headline", args.name, *args.overrides])
    try:
        data = report.load_sweep(out / "runs")
        path = report.build_report(
            data, out, title=TITLES.get(args.name, f"Experiment: {args.name}"), command=command
        )
    except report.ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{path.relative_to(PROJECT_ROOT)} written "
        f"(sweep {swept - started:.0f} s, report {time.perf_counter() - swept:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
