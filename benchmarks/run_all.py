"""Print the benchmark table: `python -m benchmarks.run_all` (`make bench`); `--quick` for a
short version (smaller populations, fewer repeats).

Rows: speed per researcher-step against population size and run length, construction time,
memory, sweep throughput, speed against the per-agent reference, and Hydra's overhead per job
(benchmarks/hydra_overhead.py, when present). Each figure is the best of a few repeats of the
process's CPU time on whatever machine runs it; compare ratios measured within one run.
"""

import argparse
import importlib
import os
import platform
import time

import mesa
import numpy as np

from . import memory, reference, speed, sweep
from .common import Row, print_table


def hydra_rows(quick: bool) -> list[Row]:
    """Rows from benchmarks/hydra_overhead.py: its report lines, 'what: figure'."""
    try:
        module = importlib.import_module("benchmarks.hydra_overhead")
    except ImportError:
        return [Row("Hydra's overhead per job", "n/a (benchmarks/hydra_overhead.py not present)")]
    repeats, replicates = (1, 2) if quick else (2, 10)
    best = module.measure(repeats, replicates, researchers=2000, years=20.0)
    rows = []
    for line in module.report(best, replicates):
        what, _, figure = line.partition(": ")
        rows.append(Row(f"Hydra: {what}", figure))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short version of every benchmark")
    quick = parser.parse_args(argv).quick
    started = time.perf_counter()
    rows = []
    for part in (speed.rows, memory.rows, sweep.rows, reference.rows, hydra_rows):
        rows += part(quick)
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, Mesa {mesa.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs" + (" (quick)" if quick else "")
    )
    print()
    print_table(rows)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
