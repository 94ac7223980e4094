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
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim import Params
from sim.kernels import signals_held

from .checkpoint import Chunks
from .spinup import model_for

log = logging.getLogger(__name__)


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


class Checkpoint:
    """Finished replicates of one config and model code, saved in chunks under `job_dir/.partial/`
    (`checkpoint.py`: each chunk checked by its manifest before reuse): a chunk is a replicates
    table and a time-series table."""

    def __init__(self, job_dir: Path, key: str, flush_seconds: float):
        self.chunks = Chunks(job_dir, key, ("replicates", "timeseries"), "replicate")
        self.dir = self.chunks.dir
        self.key = key
        self.flush_seconds = flush_seconds
        self.unsaved: list[tuple[dict, pd.DataFrame]] = []
        self.last_flush = time.monotonic()

    def load(self, replicates: int) -> dict[int, tuple[dict, pd.DataFrame]]:
        """Replicates 0..replicates-1 saved by an earlier, unfinished run of the same key."""
        found: dict[int, tuple[dict, pd.DataFrame]] = {}
        for tables in self.chunks.load():
            rows, series = tables["replicates"], tables["timeseries"]
            for row in rows.to_dict("records"):
                i = int(row["replicate"])
                if 0 <= i < replicates:
                    found[i] = (row, series[series["replicate"] == i].reset_index(drop=True))
        return found

    def add(self, result: tuple[dict, pd.DataFrame]) -> None:
        self.unsaved.append(result)
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if not self.unsaved:
            return
        first = min(int(m["replicate"]) for m, _ in self.unsaved)
        rows = pd.DataFrame([m for m, _ in self.unsaved])
        series = pd.concat([s for _, s in self.unsaved], ignore_index=True)
        self.chunks.write(
            f"{first:07d}-{time.time_ns()}", {"replicates": rows, "timeseries": series}
        )
        self.unsaved = []
        self.last_flush = time.monotonic()

    def clear(self) -> None:
        self.chunks.clear()


def exit_with_parent(
    also_watch: int | None = None, poll: float = 0.5, signum: int | None = None
) -> None:
    """End this process soon after its parent (or process `also_watch`) dies: at once, or by
    sending itself `signum` (SIGTERM: its handlers save finished work, then stop).

    Worker processes of a killed sweep would otherwise go on for as long as their replicate or
    job takes (kill -9 of a sweep left its fork server and workers running for over a minute).
    A daemon thread polls; started once per process.
    """
    global _watching
    if _watching:
        return
    _watching = True
    parent = os.getppid()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent or (also_watch is not None and not alive(also_watch)):
                if signum is None:
                    os._exit(1)
                os.kill(os.getpid(), signum)
                return

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_watching = False


def worker_context() -> multiprocessing.context.BaseContext:
    """Fresh worker processes, never forks of one that may hold threads.

    A fork server that has imported the model once, where there is one (Linux, macOS), else spawn.
    """
    if multiprocessing.get_start_method(allow_none=True) not in (
        None,
        *multiprocessing.get_all_start_methods(),
    ):
        # In a joblib (loky) job process the default method is 'loky', which new processes
        # are told to set and cannot (Python 3.12: "cannot find context for 'loky'").
        multiprocessing.set_start_method(None, force=True)
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def worker_setup(job_pid: int) -> None:
    """In each worker: exit when the job process (or the fork server) is gone."""
    exit_with_parent(also_watch=job_pid)


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
    progress: Callable[[int], None] | None = None,
) -> dict[int, tuple[dict, pd.DataFrame]]:
    """Run the replicates not in `done`; return all results by replicate number.

    `progress(n)` is called with the number of finished replicates after each one; a bar is
    shown on a terminal when `label` is given.
    """
    results = dict(done)
    todo = [i for i in range(len(seeds)) if i not in results]
    bar = tqdm(
        total=len(seeds),
        initial=len(results),
        desc=label,
        unit="rep",
        disable=None if label else True,
    )

    def finished(i: int, result: tuple[dict, pd.DataFrame]) -> None:
        results[i] = result
        checkpoint.add(result)
        bar.update()
        if progress is not None:
            progress(len(results))

    with sigterm_as_exit():
        try:
            if workers <= 1 or len(todo) <= 1:
                for i in todo:
                    finished(i, run_replicate(params, i, seeds[i]))
            else:
                tasks = {i: (params, i, seeds[i]) for i in todo}
                run_parallel(run_replicate, tasks, workers, finished)
        finally:
            bar.close()
            checkpoint.flush()
    return results


class WorkerLost(RuntimeError):
    """A worker process died twice (killed from outside, or out of memory): one line."""


def failure_text(err: OSError | WorkerLost) -> str:
    """One line for a failure that is not the input's fault: the file and the system's reason
    ('DIR/replicates.csv: No space left on device'), or the lost worker."""
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror}"
    return str(err)


def run_parallel(
    function: Callable, tasks: dict, workers: int, finished: Callable[[object, object], None]
) -> None:
    """Call `function(*args)` for each `key: args` of `tasks` in up to `workers` fresh
    processes, and `finished(key, result)` here as each one ends.

    A worker killed from outside (kill -9, the system's out-of-memory killer) breaks the pool:
    the tasks not finished then run once more in a new pool, and a second loss raises
    WorkerLost. On any other error, Ctrl-C or SIGTERM, the workers still running end at once.
    """
    todo = dict(tasks)
    for attempt in (1, 2):
        pool = ProcessPoolExecutor(
            min(workers, len(todo)),
            mp_context=worker_context(),
            initializer=worker_setup,
            initargs=(os.getpid(),),
        )
        try:
            with signals_held():  # a worker half started when stopped prints a traceback
                futures = {pool.submit(function, *args): key for key, args in todo.items()}
            for future in as_completed(futures):
                finished(futures[future], future.result())
                del todo[futures[future]]
        except BrokenProcessPool:
            stop_workers(pool)
            if attempt == 2:
                raise WorkerLost(
                    f"a worker process died again (killed from outside, or out of memory?) "
                    f"with {len(todo)} of {len(tasks)} tasks unfinished"
                ) from None
            log.warning(
                "a worker process died (killed from outside, or out of memory?); "
                "running the %d unfinished tasks again",
                len(todo),
            )
            continue
        except BaseException:
            stop_workers(pool)
            raise
        pool.shutdown(wait=True)
        return


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: cancel what has not started and end the workers still running
    (after an interruption they would otherwise finish their replicate first)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive():
            process.terminate()
