"""A batch of replicates of one configuration: seeds, serial or parallel runs, checkpoints.

Replicate i's seed depends on the root seed and i alone (`replicate_seed`), so every arm of a
sweep runs the same seeds (paired comparisons, common random numbers) and a batch gives the same
numbers whatever the number of worker processes or the order in which replicates finish.

Finished replicates are saved in the job's `.partial/` folder once `flush_seconds` have passed
since the last save, and when the batch stops for any reason (an error, Ctrl-C, or SIGTERM as
sent by SLURM at a time limit), so rerunning an interrupted job redoes only the replicates that
had not finished. Short batches finish before the first save and write nothing there.
"""

import contextlib
import multiprocessing
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim import Params, ResearchModel

from . import io

PARTIAL_DIR = ".partial"


def replicate_seed(root_seed: int, replicate: int) -> int:
    """A 63-bit seed from the root seed's SeedSequence child number `replicate`."""
    child = np.random.SeedSequence(root_seed, spawn_key=(replicate,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_replicate(params: Params, replicate: int, seed: int) -> tuple[dict, pd.DataFrame]:
    """One model run: (its run metrics, its timeseries), both tagged with replicate and seed."""
    started = time.perf_counter()
    model = ResearchModel(params=params, seed=seed).run()
    metrics = {"replicate": replicate, "seed": seed, **model.run_metrics()}
    series = model.timeseries()
    series.insert(0, "seed", seed)
    series.insert(0, "replicate", replicate)
    metrics["seconds"] = time.perf_counter() - started
    return metrics, series


class Checkpoint:
    """Finished replicates of one config, saved in chunks under `job_dir/.partial/`."""

    def __init__(self, job_dir: Path, config_hash: str, flush_seconds: float):
        self.dir = Path(job_dir) / PARTIAL_DIR
        self.config_hash = config_hash
        self.flush_seconds = flush_seconds
        self.unsaved: list[tuple[dict, pd.DataFrame]] = []
        self.last_flush = time.monotonic()

    def load(self) -> dict[int, tuple[dict, pd.DataFrame]]:
        """Replicates saved by an earlier, unfinished run of the same config.

        Those of another config are deleted, so that they never mix with this one's.
        """
        if (self.dir / "config_hash").is_file():
            if (self.dir / "config_hash").read_text().strip() == self.config_hash:
                return dict(self.saved())
        self.clear()
        return {}

    def saved(self) -> Iterator[tuple[int, tuple[dict, pd.DataFrame]]]:
        for path in sorted(self.dir.glob("replicates-*.csv")):
            series_path = path.with_name(path.name.replace("replicates-", "timeseries-"))
            if not series_path.is_file():
                continue
            rows, series = io.read_csv(path), io.read_csv(series_path)
            for row in rows.to_dict("records"):
                i = int(row["replicate"])
                yield i, (row, series[series["replicate"] == i].reset_index(drop=True))

    def add(self, result: tuple[dict, pd.DataFrame]) -> None:
        self.unsaved.append(result)
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if not self.unsaved:
            return
        if not (self.dir / "config_hash").is_file():
            io.write_atomic(self.dir / "config_hash", lambda f: f.write(self.config_hash))
        first = min(int(m["replicate"]) for m, _ in self.unsaved)
        tag = f"{first:07d}-{time.time_ns()}"
        rows = pd.DataFrame([m for m, _ in self.unsaved])
        series = pd.concat([s for _, s in self.unsaved], ignore_index=True)
        io.write_csv(self.dir / f"timeseries-{tag}.csv", series)
        io.write_csv(self.dir / f"replicates-{tag}.csv", rows)  # written last: marks the chunk
        self.unsaved = []
        self.last_flush = time.monotonic()

    def clear(self) -> None:
        if self.dir.is_dir():
            for path in self.dir.iterdir():
                path.unlink()
            self.dir.rmdir()


def worker_context() -> multiprocessing.context.BaseContext:
    """Fresh worker processes, never forks of one that may hold threads.

    A fork server that has imported the model once, where there is one (Linux, macOS), else spawn.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit meanwhile, so that `finally` blocks save finished work."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_batch(
    params: Params,
    seeds: list[int],
    workers: int,
    checkpoint: Checkpoint,
    done: dict[int, tuple[dict, pd.DataFrame]],
    label: str = "replicates",
) -> dict[int, tuple[dict, pd.DataFrame]]:
    """Run the replicates not in `done`; return all results by replicate number."""
    results = dict(done)
    todo = [i for i in range(len(seeds)) if i not in results]
    bar = tqdm(total=len(seeds), initial=len(results), desc=label, unit="rep", disable=None)
    with sigterm_as_exit():
        try:
            if workers <= 1 or len(todo) <= 1:
                for i in todo:
                    results[i] = run_replicate(params, i, seeds[i])
                    checkpoint.add(results[i])
                    bar.update()
            else:
                pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=worker_context())
                try:
                    futures = {pool.submit(run_replicate, params, i, seeds[i]): i for i in todo}
                    for future in as_completed(futures):
                        results[futures[future]] = future.result()
                        checkpoint.add(results[futures[future]])
                        bar.update()
                finally:
                    pool.shutdown(wait=False, cancel_futures=True)
        finally:
            bar.close()
            checkpoint.flush()
    return results
