"""The one runner of model runs: sweep jobs' replicates, design jobs' points, calibration pairs.

A task is one call `function(*args)`: `function` is defined at a module's top level (a worker
process imports it by name), its arguments and result can be pickled, and its result depends on
its arguments alone (each task carries its own seed). `run_tasks` runs a dict of tasks, in this
process or in fresh worker processes, and guarantees:

- the same results whatever the number of processes and the order in which tasks finish;
- a worker lost (killed from outside, out of memory) is replaced once, its tasks run again; a
  second loss raises WorkerLost;
- on an error in a task, Ctrl-C, or SIGTERM (turned into SystemExit meanwhile, as SLURM sends
  it at a time limit), the tasks not finished stop at once, their workers end, and the error
  goes on to the caller;
- every finished result is in the checkpoint however the run ends, so a rerun redoes only the
  tasks in progress;
- workers end soon after the process that started them, even after a kill -9 of it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from tqdm import tqdm

from sim.kernels import signals_held

log = logging.getLogger(__name__)


class Saves(Protocol):
    """Where finished results go (`replicates.Checkpoint`, `design_job.PointCheckpoint`)."""

    def add(self, result) -> None: ...

    def flush(self) -> None: ...


def run_tasks(
    function: Callable,
    tasks: dict[Hashable, tuple],
    workers: int,
    *,
    done: dict | None = None,
    checkpoint: Saves | None = None,
    label: str = "",
    unit: str = "task",
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Every task's result by its key: `function(*args)` for each `key: args` of `tasks`.

    Tasks whose key is in `done` (results saved by an earlier run) are not run again. The others
    run here one after another when `workers` <= 1 or only one is left, else in up to `workers`
    fresh processes (`run_parallel`). As each ends, its result goes to `checkpoint.add`, a bar
    named `label` moves (on a terminal, when `label` is given) and `progress(n)` hears how many
    tasks have finished, those in `done` included. The checkpoint is flushed however this ends.
    """
    done = done or {}
    results = {key: done[key] for key in tasks if key in done}
    todo = {key: args for key, args in tasks.items() if key not in results}
    bar = tqdm(
        total=len(tasks),
        initial=len(results),
        desc=label,
        unit=unit,
        disable=None if label else True,
    )

    def finished(key, result) -> None:
        results[key] = result
        if checkpoint is not None:
            checkpoint.add(result)
        bar.update()
        if progress is not None:
            progress(len(results))

    with sigterm_as_exit():
        try:
            if workers <= 1 or len(todo) <= 1:
                for key, args in todo.items():
                    finished(key, function(*args))
            else:
                run_parallel(function, todo, workers, finished)
        finally:
            bar.close()
            if checkpoint is not None:
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
            mp_context=worker_context(getattr(function, "__module__", None) or __name__),
            initializer=worker_setup,
            initargs=(os.getpid(),),
        )
        try:
            with signals_held():  # a worker half started when stopped prints a traceback
                futures = {pool.submit(function, *args): key for key, args in todo.items()}
            for future in as_completed(futures):
                finished(futures[future], future.result())
                del todo[futures[future]]
            pool.shutdown(wait=True)  # inside: a signal while the idle workers end stops them
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
        return


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: cancel what has not started and end the workers still running
    (after an interruption they would otherwise finish their task first).

    Then wait for the pool's manager thread, which sees the workers gone and closes the pool's
    pipes. At exit, Python's hook wakes that thread through one of them without the lock the
    thread closes it under (CPython issue 125451, not fixed in the 3.11 and 3.12.1 here); a
    wakeup racing the close raises "handle is closed", printed as a traceback at exit (seen once
    after a Ctrl-C, in tests/test_faults_signals.py under the full suite's load).
    """
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive():
            process.terminate()
    if manager is not None:
        manager.join(timeout=10)


def worker_context(preload: str = __name__) -> multiprocessing.context.BaseContext:
    """Fresh worker processes, never forks of one that may hold threads.

    A fork server that has imported module `preload` (the tasks' own, hence the model) once,
    where there is one (Linux, macOS), else spawn.
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
    context.set_forkserver_preload([__name__] + ([preload] if preload != "__main__" else []))
    return context


def worker_setup(job_pid: int) -> None:
    """In each worker: exit when the job process (or the fork server) is gone."""
    exit_with_parent(also_watch=job_pid)


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
