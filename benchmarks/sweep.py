"""Replicates per second in a sweep job, against a bare Python loop of the same replicates.

A sweep job runs a batch of replicates of one configuration (experiments/engine/replicates.py). The
bare loop is the least a user could write: build, run and take the run metrics. The job's loop
also keeps each replicate's timeseries and checkpoints finished replicates. Target (issue 5):
the job's throughput within 1.5 times the bare loop's. Replicates of 2,000 researchers over
20 years, the default population and run length; one process.
"""

import sys
import tempfile
from pathlib import Path

from sim import ResearchModel, with_overrides

from .common import Row, best_times, print_table

TARGET_SLOWDOWN = 1.5


def bare_loop(seeds) -> None:
    for seed in seeds:
        ResearchModel(seed=seed, n_researchers=2000, years=20).run().run_metrics()


def job_loop(seeds) -> None:
    """The batch runner of a sweep job (experiments layer), serial, into a scratch folder."""
    from experiments.engine.replicates import Checkpoint, run_batch
    from experiments.engine.spinup import SPIN_UPS

    SPIN_UPS.clear()  # one configuration's seeds share no burn-in: keep repeats alike
    params = with_overrides(n_researchers=2000, years=20)
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = Checkpoint(Path(scratch), "benchmark", flush_seconds=float("inf"))
        run_batch(params, list(seeds), workers=1, checkpoint=checkpoint, done={})


def rows(quick: bool = False) -> list[Row]:
    seeds = range(5 if quick else 20)
    runs = {"bare": lambda: bare_loop(seeds), "job": lambda: job_loop(seeds)}
    try:
        import experiments.engine.replicates  # noqa: F401
    except ImportError as err:  # the experiments layer is optional for the model itself
        runs.pop("job")
        missing = err
    seconds = best_times(runs, 2 if quick else 3)
    bare = len(seeds) / seconds["bare"]
    out = [Row("replicates per second, bare loop (2,000 researchers x 20 years)", f"{bare:.1f}/s")]
    if "job" not in seconds:
        out.append(Row("replicates per second, sweep job's batch runner", f"n/a ({missing})"))
        return out
    job = len(seeds) / seconds["job"]
    slowdown = bare / job
    out.append(
        Row(
            "replicates per second, sweep job's batch runner (same replicates, one process)",
            f"{job:.1f}/s ({slowdown:.2f}x the bare loop's time)",
            f"<= {TARGET_SLOWDOWN}x",
            slowdown <= TARGET_SLOWDOWN,
        )
    )
    return out


if __name__ == "__main__":
    print_table(rows("--quick" in sys.argv))
