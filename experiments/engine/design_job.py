"""An uncertainty design's work in one Hydra job: its share of the design's points, every arm,
every seed (`work`; `job.py` runs it when a config has an `uncertainty` design).

Its table, `design_runs.csv`, has one row per point, arm and replicate: `point` (row of the full
design), `arm` (`base`, or `LEVER:low` / `LEVER:high`), `replicate`, `seed`, the factors' values,
then every run metric (or `y` for a test function). The job's provenance adds the design
(method, seed, factors and ranges, number of points, this job's points, arms). Resume and
checkpoints are every job's (`job.py`): finished points are saved to `.partial/`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import with_overrides
from sim.kernels import signals_held

from . import design
from .checkpoint import TaskCheckpoint
from .spinup import model_for
from .work import Work

RUNS = "design_runs.csv"


def run_point(base, spec: design.DesignConfig, point: int, row, seeds: list[int]) -> list[dict]:
    """Every arm and replicate of one design point, as table rows."""
    values = design.point_overrides(spec, row)
    out = []
    if spec.model != "abm":
        function, _, outcome = design.TEST_FUNCTIONS[spec.model]
        y = float(function(np.asarray(row, dtype=float)[None, :])[0])
        for i, seed in enumerate(seeds):
            out.append(
                {"point": point, "arm": design.BASE_ARM, "replicate": i, "seed": seed}
                | values
                | {outcome: y}
            )
        return out
    at_point = with_overrides(base, **values)
    status_quo = at_point if spec.method == "ensemble" else None  # a calibrated world's own
    for arm, levers in design.arms(spec):
        params = with_overrides(at_point, **levers) if levers else at_point
        for i, seed in enumerate(seeds):
            with signals_held():
                metrics = model_for(params, seed, status_quo).run().run_metrics()
            out.append(
                {"point": point, "arm": arm, "replicate": i, "seed": seed} | values | metrics
            )
    return out


class PointCheckpoint(TaskCheckpoint):
    """Finished points of one config and code, saved in chunks under `job_dir/.partial/`
    (`checkpoint.py`: each chunk checked by its manifest before reuse): a chunk is one table of
    rows, each naming its `point`, several rows to a point (a task's result is its rows)."""

    tables = ("points",)
    number = "point"

    def load(self) -> dict[int, list[dict]]:
        """Points saved by an earlier, unfinished run of the same key (others are deleted)."""
        done: dict[int, list[dict]] = {}
        for tables in self.chunks.load():
            for row in tables["points"].to_dict("records"):
                done.setdefault(int(row["point"]), []).append(row)
        return done

    def as_tables(self, results: list[list[dict]]) -> dict[str, pd.DataFrame]:
        return {"points": pd.DataFrame([row for rows in results for row in rows])}


def work(base, run, uncertainty: dict, seeds: list[int], out, key: str) -> Work:
    """A design job's work (`job.Work`): its share of the design's points, every arm and seed
    of each, then `design_runs.csv`."""
    spec = design.as_spec(uncertainty)
    points = design.sample(spec)
    mine = design.chunk(len(points), spec.jobs, spec.job)
    ranges = design.factors(spec)
    return Work(
        tasks={p: (base, spec, p, points[p], seeds) for p in mine},
        task=run_point,
        checkpoint=PointCheckpoint(out, key, run.checkpoint_seconds),
        tables=lambda results: {RUNS: pd.DataFrame([row for p in mine for row in results[p]])},
        timing=lambda results, reused: {"points_reused": reused},
        record={
            "design": {
                "method": spec.method,
                "seed": spec.seed,
                "model": spec.model,
                "factors": {name: list(bounds) for name, bounds in ranges.items()},
                "points": len(points),
                "job_points": [mine.start, mine.stop],
                "arms": [name for name, _ in design.arms(spec)],
            }
        },
        what="design points",
        unit="point",
    )
