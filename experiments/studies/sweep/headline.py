"""Run a named experiment end to end: the sweep, then its report.

    python -m experiments.headline NAME [--fresh] [--out DIR] [OVERRIDE ...]
    python -m experiments.headline NAME --results

The first form is for your own runs: it runs `python -m experiments.run -m experiment=NAME
hydra.sweep.dir=OUT/runs [OVERRIDE ...]` (a rerun resumes: finished jobs are kept), writes
`report.md`, `report.html`, `summary.csv`, `contrasts.csv`, `periods.csv` and `figures/` into
OUT and prints where. OUT is `outputs/NAME` without overrides and `outputs/NAME-HASH` with them
(HASH names the overrides, so that runs with different overrides never share a folder), or
`--out DIR`. Nothing under `outputs/` is tracked by git, so these runs never touch the committed
results.

The second form regenerates the committed reference results in `results/NAME/` (what `make
results` runs for every experiment) and takes no overrides: the committed report rests on the
experiment's config alone. Its job folders (`results/NAME/runs/`) are not committed.

`--fresh` deletes earlier job folders first (do this after changing the model; a sweep refuses to
resume jobs run by other model code). It only ever deletes a `runs` folder inside the project's
own output folders (`outputs/`, `results/`, `multirun/`). `make run` calls the first form with
NAME=headline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

from ...engine import preflight
from ...engine.catalog import (
    UsageError,
    check_experiment,
    delete_runs,
    planned_levers,
    report_text,
    shown,
)
from ...engine.errors import BadInput
from ...engine.job import run_command
from . import report

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def title(name: str, levers: list[str]) -> str:
    """The experiment's title (its config's `report.title`), or, when overrides changed what it
    varies, one from its levers."""
    if set(levers) == planned_levers(name):
        return report_text(name).get("title") or f"Experiment: {name}"
    return f"{report.title_for(levers)} (the {name} experiment, with overrides)"


def results_dir(name: str) -> Path:
    return Path("results") / name


def output_dir(name: str, overrides: list[str]) -> Path:
    """`outputs/NAME`, or `outputs/NAME-HASH` naming the overrides."""
    if not overrides:
        return Path("outputs") / name
    digest = hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:8]
    return Path("outputs") / f"{name}-{digest}"


def run_sweep(name: str, sweep_dir: Path, overrides: list[str]) -> int:
    """The colleague-facing runner, exactly as a user would type it; its exit status."""
    command = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        f"experiment={name}",
        f"hydra.sweep.dir={PROJECT_ROOT / sweep_dir}",
        *overrides,
    ]
    try:  # here, so that a taken folder names this command's remedy (--fresh, --out)
        preflight.check_runner(command[3:], overrides)
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run_command(command, PROJECT_ROOT)  # stops (and saves) if this one is killed


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.headline",
        description="Run a named experiment sweep, then write its report (outputs/NAME/; "
        "with --results, the committed results/NAME/).",
    )
    parser.add_argument("name", metavar="NAME", help="an experiment in configs/experiment/")
    parser.add_argument("--fresh", action="store_true", help="delete earlier job folders first")
    parser.add_argument(
        "--results",
        action="store_true",
        help="regenerate the committed results/NAME/ (no overrides allowed)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: outputs/NAME[-HASH])")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every job")
    return parser.parse_intermixed_args(argv)


def destination(args: argparse.Namespace) -> Path:
    """The folder for the report (job folders go in its `runs/`), relative to the project."""
    check_experiment(args.name, args.overrides)
    if args.results:
        if args.overrides or args.out:
            given = " ".join(args.overrides) or f"--out {args.out}"
            raise UsageError(
                f"--results takes no overrides or --out (given: {given}); the committed "
                "results come from the experiment's config alone"
            )
        return results_dir(args.name)
    if args.out:
        out = Path(os.path.abspath(args.out))  # as the user meant it, from where they are
        if (PROJECT_ROOT / "results").resolve() in (out.resolve(), *out.resolve().parents):
            raise UsageError(f"--out {args.out} is inside results/; use --results for those")
        return out
    return output_dir(args.name, args.overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        out = destination(args)
        if args.fresh:
            delete_runs(args.name, out / "runs", args.overrides)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    status = run_sweep(args.name, out / "runs", args.overrides)
    if status == 2:  # bad input: the sweep said why and ran nothing
        return 2
    if status in (130, 143):  # stopped by Ctrl-C or SIGTERM: the sweep kept what finished
        again = " ".join(["python -m experiments.headline", *(argv or sys.argv[1:])])
        print(f"to resume, run: {again.replace(' --fresh', '')}", file=sys.stderr)
        return status
    if status != 0:  # a failed or stopped job leaves the others; the report lists the gaps
        print(
            f"warning: the sweep exited with status {status}; reporting on the jobs that finished",
            file=sys.stderr,
        )
    swept = time.perf_counter()
    if args.results:
        command = f"python -m experiments.headline {args.name} --results"
    else:
        command = " ".join(["python -m experiments.headline", args.name, *args.overrides])
    try:
        data = report.load_sweep(PROJECT_ROOT / out / "runs")
        path = report.build_report(
            data,
            PROJECT_ROOT / out,
            title=title(args.name, data.levers),
            command=command,
        )
    except (report.ReportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"report written to {shown(path)} "
        f"(sweep {swept - started:.0f} s, report {time.perf_counter() - swept:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
