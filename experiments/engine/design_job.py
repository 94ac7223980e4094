"""One Hydra job of an uncertainty design: its share of the design's points, every arm, every seed.

`job.py` hands a job here when its config has an `uncertainty` design. Outputs, each
written atomically into the job's folder:
- `design_runs.csv`: one row per point, arm and replicate: `point` (row of the full design),
  `arm` (`base`, or `LEVER:low` / `LEVER:high`), `replicate`, `seed`, the factors' values, then
  every run metric (or `y` for a test function);
- `provenance.json`, written last: status, config and its hash, the design (method, seed,
  factors and ranges, number of points, this job's points), the replicate seeds, package
  versions, git commit, timing and the table's checksum.

Resume works as for sweep jobs: a job whose provenance says complete for the same config hash,
with its table intact, returns at once ("skipped"). Inside a job, finished points are saved to
`.partial/` once `run.checkpoint_seconds` have passed since the last save and whenever the job
stops, so a rerun redoes only the points in progress.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import with_overrides
from sim.kernels import signals_held

from . import design, io, schema
from .checkpoint import TaskCheckpoint
from .replicates import replicate_seed
from .runner import run_tasks
from .spinup import model_for
from .store import FAILURE, PROVENANCE, provenance, record_failure

log = logging.getLogger(__name__)

RUNS = "design_runs.csv"


def completed_hash(job_dir: Path, code_of_now: bool = True) -> str | None:
    """The config hash of the complete, intact outputs of a design job in `job_dir`, or None;
    with `code_of_now`, only those made by the code of now (`io.code_version`, part of the
    resume key)."""
    record = io.read_json(Path(job_dir) / PROVENANCE)
    if not record or record.get("status") != "complete" or "design" not in record:
        return None
    if code_of_now and record.get("environment", {}).get("code_version") != io.code_version():
        return None
    path = Path(job_dir) / RUNS
    if not path.is_file() or record["outputs"][RUNS]["sha256"] != io.sha256(path):
        return None
    return record.get("config_hash")


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


def run_chunk(cfg, context) -> str:
    """Run (or skip, if complete) this job's share of the design: 'complete' or 'skipped'."""
    out = Path(context.output_dir)
    config = schema.resolved(cfg)
    base, run = schema.params_from_config(config)  # checks the design too
    spec = design.as_spec(config["uncertainty"])
    digest = schema.config_hash(config)
    if spec.method == "ensemble":  # the file's content, not only its name
        digest = schema.config_hash({**config, "ensemble_sha256": design.ensemble_digest(spec)})
    finished = completed_hash(out)
    if finished is not None and finished != digest:
        raise schema.ParameterError(
            f"{out} holds finished results of a different config; "
            "use another output folder or delete that one"
        )
    if run.resume and finished == digest:
        log.info("complete for this config already: skipped (%s)", out)
        return "skipped"
    for stale in (FAILURE, PROVENANCE):
        (out / stale).unlink(missing_ok=True)
    try:
        return write_chunk(base, run, spec, config, digest, context)
    except BaseException as err:
        record_failure(out, err, digest)
        raise


def write_chunk(base, run, spec, config: dict, digest: str, context) -> str:
    out = Path(context.output_dir)
    started, clock = datetime.now(UTC), time.perf_counter()
    seeds = [replicate_seed(run.seed, i) for i in range(run.replicates)]
    points = design.sample(spec)
    mine = design.chunk(len(points), spec.jobs, spec.job)
    checkpoint = PointCheckpoint(out, f"{digest} {io.code_version()}", run.checkpoint_seconds)
    done = checkpoint.load() if run.resume else {}
    if not run.resume:
        checkpoint.clear()
    if done:
        log.info("reusing %d finished points from an interrupted run", len(done))
    tasks = {p: (base, spec, p, points[p], seeds) for p in mine}
    results = run_tasks(run_point, tasks, run.workers, done=done, checkpoint=checkpoint)

    table = pd.DataFrame([row for p in mine for row in results[p]])
    io.write_csv(out / RUNS, table)
    ranges = design.factors(spec)
    record = provenance(
        config,
        digest,
        seeds,
        context,
        (started, clock),
        {"points_reused": sum(p in done for p in mine), "workers": run.workers},
        {RUNS: {"sha256": io.sha256(out / RUNS), "rows": len(table)}},
        design={
            "method": spec.method,
            "seed": spec.seed,
            "model": spec.model,
            "factors": {name: list(bounds) for name, bounds in ranges.items()},
            "points": len(points),
            "job_points": [mine.start, mine.stop],
            "arms": [name for name, _ in design.arms(spec)],
        },
    )
    io.write_json(out / PROVENANCE, record)
    checkpoint.clear()
    log.info("%d design points written to %s", len(mine), out)
    return "complete"
