"""Analyse an uncertainty design: sensitivity indices, lever robustness and where effects reverse.

    python -m experiments.sensitivity SWEEP_DIR [--out DIR]
    python -m experiments.sensitivity run NAME [--out DIR] [--fresh] [OVERRIDE ...]

The first reads the finished jobs of a design sweep (`experiments/engine/design_job.py`),
rebuilds the design from its recorded config and seed (and checks that every recorded point
matches it), and writes into DIR (default: SWEEP_DIR) the tables `design.csv`, `points.csv`,
`indices.csv`, `robustness.csv`, `prim.csv`, the figures under `figures/` and `report.md` /
`report.html`.
The second runs the named experiment's design first (`python -m experiments.run -m
experiment=NAME` into DIR/runs, default DIR `results/sensitivity`; a rerun resumes), then the
analysis. Every number is recomputed from the files, so the analysis can be rerun at will.
The analysis itself is `analysis.py` (what it computes and from whom).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from ...engine import catalog, io, schema
from ...engine.job import run_command
from .analysis import Analysis, SensitivityError, analyse, prim_table

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = "results/sensitivity"  # of `run`, in the project


def write(analysis: Analysis, out: Path, command: str, timing: dict | None = None) -> Path:
    """Tables, figures and the report into `out`; returns the report's path."""
    from . import report as sensitivity_report

    out = Path(out)
    d = analysis.design
    design_table = pd.DataFrame(d.points, columns=list(d.factors))
    design_table.insert(0, "point", range(len(design_table)))
    io.write_csv(out / "design.csv", design_table)
    io.write_csv(out / "points.csv", analysis.points)
    io.write_csv(out / "indices.csv", analysis.indices)
    io.write_csv(out / "robustness.csv", analysis.robustness)
    io.write_csv(out / "prim.csv", prim_table(analysis.boxes))
    return sensitivity_report.build(analysis, out, command, timing or {})


# --- command line ----------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """Command-line errors as one line and exit status 2, like every bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


class Stopped(Exception):
    """The design sweep stopped on Ctrl-C or SIGTERM (its exit status), keeping what finished."""


def run_design(name: str, runs_dir: Path, overrides: list[str], fresh: bool = False) -> float:
    """Run experiment NAME's design into `runs_dir` with the project's runner; its seconds.

    Every job is checked first, in this process: bad input is one line (SensitivityError). With
    `fresh`, earlier job folders are deleted first, once NAME and the overrides are known good,
    and only inside the project's own output folders.
    """
    from hydra import compose

    from ...engine import preflight
    from ...engine.errors import BadInput

    try:
        catalog.check_experiment(name, overrides)
    except catalog.UsageError as err:
        raise SensitivityError(str(err)) from None
    schema.register()
    try:
        with preflight.composing():
            cfg = compose("config", overrides=[f"experiment={name}", *overrides])
        if cfg.get("uncertainty") is None:
            raise SensitivityError(f"experiment '{name}' has no uncertainty design")
        jobs = f"uncertainty.job=range(0,{cfg.uncertainty.jobs})"
        if fresh:
            catalog.delete_runs(name, runs_dir, [jobs, *overrides])
        arguments = [
            "-m",
            f"experiment={name}",
            f"hydra.sweep.dir={PROJECT_ROOT / runs_dir}",  # the child runs in PROJECT_ROOT
            jobs,
            *overrides,
        ]
        preflight.check_runner(arguments, overrides)
    except (BadInput, catalog.UsageError) as err:
        raise SensitivityError(str(err)) from err
    started = time.perf_counter()
    status = run_command(
        [sys.executable, "-m", "experiments.run", *arguments], PROJECT_ROOT
    )  # stops (and saves) if this one is killed
    if status in (130, 143):
        raise Stopped(status)
    if status != 0:
        raise SensitivityError(f"the design sweep exited with status {status}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    sys_argv = list(argv)
    running = bool(argv) and argv[0] == "run"
    parser = OneLineParser(
        prog="python -m experiments.sensitivity" + (" run" if running else ""),
        description="Run (with 'run NAME') and analyse an uncertainty design.",
    )
    if running:
        parser.add_argument("name", metavar="NAME", help="an experiment with an uncertainty design")
        parser.add_argument("--fresh", action="store_true", help="delete earlier job folders first")
        parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every job")
        parser.add_argument("--out", default=DEFAULT_OUT, help="report folder")
        argv = argv[1:]
        if "-m" in argv or "--multirun" in argv:
            parser.error("-m is not needed: 'sensitivity run' always runs the design as a sweep")
    else:
        parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="a finished design sweep")
        parser.add_argument("--out", help="report folder (default: SWEEP_DIR)")
    args = parser.parse_intermixed_args(argv)  # overrides before or after the flags
    try:
        timing = {}
        if running:
            out = PROJECT_ROOT / args.out if args.out == DEFAULT_OUT else Path(args.out).absolute()
            sweep_dir = out / "runs"
            timing["sweep_seconds"] = run_design(args.name, sweep_dir, args.overrides, args.fresh)
            command = " ".join(
                ["python -m experiments.sensitivity run", args.name, *args.overrides]
                + ([] if args.out == DEFAULT_OUT else ["--out", args.out])
            )
        else:
            sweep_dir = Path(args.sweep_dir)
            out = Path(args.out or sweep_dir)
            command = f"python -m experiments.sensitivity {args.sweep_dir}"
        started = time.perf_counter()
        analysis = analyse(sweep_dir)
        path = write(analysis, out, command, timing)
    except SensitivityError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Stopped as stop:
        again = " ".join(["python -m experiments.sensitivity", *sys_argv]).replace(" --fresh", "")
        print(f"to resume, run: {again}", file=sys.stderr)
        return stop.args[0]
    print(f"{path} written (analysis {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
