"""Timing helpers and the table rows shared by the benchmark scripts.

Times are the process's CPU time (`time.process_time`): the model runs in one thread, so on an
idle machine this equals wall-clock time, and on a shared one it is far less disturbed by other
processes taking turns on the cores. Each figure is still the best of a few repeats.
"""

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One line of the benchmark table: what was measured, the figure, the target (if any)."""

    what: str
    figure: str
    target: str = ""
    met: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "NOT met"}[self.met]


def best_time(run: Callable[[], object], repeats: int) -> float:
    """Smallest CPU seconds of `repeats` calls (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def best_times(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """`best_time` of each, taking turns, so that a burst of load elsewhere hits all alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            best[name] = min(best[name], best_time(run, 1))
    return best


def print_table(rows: list[Row]) -> None:
    print("| measure | figure | target | |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r.what} | {r.figure} | {r.target} | {r.verdict} |")
