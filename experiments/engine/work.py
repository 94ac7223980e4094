"""What a job computes (`Work`), whatever its kind: the job (`job.py`) runs it the one way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .checkpoint import TaskCheckpoint


@dataclass
class Work:
    """`task(*args)` for each of `tasks` (by number), finished ones saved in `checkpoint`;
    `tables` turns the results by number into the job's tables, `timing` adds to the record's
    timing (from the results and the number reused), `record` to the record."""

    tasks: dict[int, tuple]
    task: Callable
    checkpoint: TaskCheckpoint
    tables: Callable[[dict], dict[str, pd.DataFrame]]
    timing: Callable[[dict, int], dict]
    record: dict = field(default_factory=dict)
    what: str = "tasks"  # for the log
    label: str = ""  # a bar's name on a terminal
    unit: str = "task"
    progress: Callable[[int], None] | None = None
