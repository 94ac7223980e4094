"""A batch of replicates of one configuration: seeds, runs (`runner.py`), checkpoints.

Replicate i's seed depends on the root seed and i alone (`replicate_seed`), so every arm of a
sweep runs the same seeds (paired comparisons, common random numbers) and a batch gives the same
numbers whatever the number of worker processes or the order in which replicates finish.

Finished replicates are saved in the job's `.partial/` folder once `flush_seconds` have passed
since the last save, and when the batch stops for any reason (an error, Ctrl-C, or SIGTERM as
sent by SLURM at a time limit), so rerunning an interrupted job redoes only the replicates that
had not finished. Short batches finish before the first save and write nothing there.
"""

import time

import numpy as np
import pandas as pd

from sim import Params
from sim.kernels import signals_held

from .checkpoint import TaskCheckpoint
from .spinup import model_for
from .store import REPLICATES, TIMESERIES
from .work import Work


def replicate_seed(root_seed: int, replicate: int) -> int:
    """A 63-bit seed from the root seed's SeedSequence child number `replicate`."""
    child = np.random.SeedSequence(root_seed, spawn_key=(replicate,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_replicate(params: Params, replicate: int, seed: int) -> tuple[dict, pd.DataFrame]:
    """One model run: (its run metrics, its timeseries), both tagged with replicate and seed."""
    started = time.perf_counter()
    with signals_held():
        model = model_for(params, seed).run()
    metrics = {"replicate": replicate, "seed": seed, **model.run_metrics()}
    series = model.timeseries()
    series.insert(0, "seed", seed)
    series.insert(0, "replicate", replicate)
    metrics["seconds"] = time.perf_counter() - started
    return metrics, series


class Checkpoint(TaskCheckpoint):
    """Finished replicates of one config and model code, saved in chunks under `job_dir/.partial/`
    (`checkpoint.py`: each chunk checked by its manifest before reuse): a chunk is a replicates
    table and a time-series table."""

    tables = ("replicates", "timeseries")
    number = "replicate"

    def load(self, replicates: int | None = None) -> dict[int, tuple[dict, pd.DataFrame]]:
        """Replicates (0..replicates-1) saved by an earlier, unfinished run of the same key."""
        found: dict[int, tuple[dict, pd.DataFrame]] = {}
        for tables in self.chunks.load():
            rows, series = tables["replicates"], tables["timeseries"]
            for row in rows.to_dict("records"):
                i = int(row["replicate"])
                if replicates is None or 0 <= i < replicates:
                    found[i] = (row, series[series["replicate"] == i].reset_index(drop=True))
        return found

    def as_tables(self, results: list[tuple[dict, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
        return {
            "replicates": pd.DataFrame([metrics for metrics, _ in results]),
            "timeseries": pd.concat([series for _, series in results], ignore_index=True),
        }


def work(params: Params, run, levers: dict, seeds: list[int], out, key: str, progress) -> Work:
    """A sweep job's work (`job.Work`): the config's replicates, then `replicates.csv` (each
    replicate's levers and run metrics) and `timeseries.csv`."""

    def tables(results: dict) -> dict[str, pd.DataFrame]:
        ordered = [results[i] for i in range(len(seeds))]
        rows = [
            {"replicate": m["replicate"], "seed": m["seed"], **levers}
            | {k: v for k, v in m.items() if k not in ("replicate", "seed", "seconds")}
            for m, _ in ordered
        ]
        series = pd.concat([s for _, s in ordered], ignore_index=True)
        return {REPLICATES: pd.DataFrame(rows), TIMESERIES: series}

    def timing(results: dict, reused: int) -> dict:
        seconds = [results[i][0].get("seconds") for i in range(len(seeds))]
        return {"replicate_seconds": seconds, "replicates_reused": reused}

    return Work(
        tasks={i: (params, i, seed) for i, seed in enumerate(seeds)},
        task=run_replicate,
        checkpoint=Checkpoint(out, key, run.checkpoint_seconds),
        tables=tables,
        timing=timing,
        what="replicates",
        unit="rep",
        progress=progress,
    )
