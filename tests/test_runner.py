"""The one runner (experiments/engine/runner.py): the same results in one process or several,
saved tasks not run again, and a failing task stops the rest with the finished ones saved."""

import time
from pathlib import Path

import numpy as np
import pytest

from experiments.engine.design_job import PointCheckpoint
from experiments.engine.runner import run_tasks


def draw(point: int, seed: int, marker_dir: str = "", fail_at: int = -1) -> list[dict]:
    """A task: a few random draws of its own seed, as one table row; fails at point `fail_at`."""
    if marker_dir:
        (Path(marker_dir) / f"started-{point}").touch()
    if point == fail_at:
        raise ValueError(f"task {point} broke")
    if marker_dir:
        time.sleep(0.2)  # the others take a while: the failure comes before most have started
    values = np.random.default_rng(seed).normal(size=3)
    return [{"point": point, "seed": seed, "value": float(values.sum())}]


def test_the_results_are_the_same_in_one_process_and_in_two(tmp_path):
    tasks = {p: (p, 1000 + p) for p in range(6)}
    serial = run_tasks(draw, tasks, 1)
    parallel = run_tasks(draw, tasks, 2)
    assert list(serial) == list(tasks)
    assert sorted(parallel) == list(tasks) and all(parallel[p] == serial[p] for p in tasks)


def test_tasks_saved_by_an_earlier_run_are_not_run_again(tmp_path):
    tasks = {p: (p, 1000 + p, str(tmp_path)) for p in range(4)}
    done = {1: ["saved"], 3: ["saved"]}
    counts = []
    results = run_tasks(draw, tasks, 1, done=done, progress=counts.append)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["started-0", "started-2"]
    assert results[1] == results[3] == ["saved"] and results[0][0]["point"] == 0
    assert counts == [3, 4]  # finished tasks, the saved ones included


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_stops_the_rest_and_the_finished_ones_are_saved(tmp_path, workers):
    fail_at = 3 if workers == 1 else 2
    tasks = {p: (p, 1000 + p, str(tmp_path), fail_at) for p in range(20)}
    checkpoint = PointCheckpoint(tmp_path / "job", "key", flush_seconds=1e9)  # saved at the end
    with pytest.raises(ValueError, match=f"task {fail_at} broke"):
        run_tasks(draw, tasks, workers, checkpoint=checkpoint)
    started = {int(path.name.split("-")[1]) for path in tmp_path.glob("started-*")}
    assert len(started) < 10  # the rest never started
    saved = PointCheckpoint(tmp_path / "job", "key", 1e9).load()
    assert saved and fail_at not in saved and set(saved) <= started - {fail_at}
    if workers == 1:
        assert sorted(saved) == [0, 1, 2] and started == {0, 1, 2, 3}
    serial = run_tasks(draw, {p: (p, 1000 + p) for p in saved}, 1)
    for p, rows in saved.items():
        assert rows[0]["value"] == pytest.approx(serial[p][0]["value"], rel=1e-12)
