"""One job: a batch of replicates of one composed config, written into the job's folder.

Outputs, each written atomically:
- `replicates.csv`: one row per replicate: replicate, seed, the main levers (dotted names), then
  every run metric of `ResearchModel.run_metrics()`;
- `timeseries.csv`: one row per replicate and step: replicate, seed, step, year, step metrics;
- `provenance.json`, written last: the full config and its hash, seeds, overrides, package
  versions, git commit, Python version, timing and the checksums of the two tables.

A job whose provenance says complete, for the same config hash, with both tables matching their
checksums, is skipped (resume). A job that fails writes `failure.json` with the error.
"""

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from . import io, schema
from .replicates import Checkpoint, replicate_seed, run_batch

log = logging.getLogger(__name__)

REPLICATES = "replicates.csv"
TIMESERIES = "timeseries.csv"
PROVENANCE = "provenance.json"
FAILURE = "failure.json"
TABLES = (REPLICATES, TIMESERIES)


@dataclass
class JobContext:
    """What Hydra knows about the job: its folder, overrides, chosen presets and launcher."""

    output_dir: Path
    overrides: list[str] = field(default_factory=list)
    choices: dict = field(default_factory=dict)
    num: int | None = None
    launcher: str | None = None


def completed_hash(job_dir: Path) -> str | None:
    """The config hash of the complete, intact outputs in `job_dir`, or None."""
    record = io.read_json(Path(job_dir) / PROVENANCE)
    if not record or record.get("status") != "complete":
        return None
    for name in TABLES:
        path = Path(job_dir) / name
        expected = record.get("outputs", {}).get(name, {}).get("sha256")
        if not path.is_file() or expected != io.sha256(path):
            return None
    return record.get("config_hash")


def lever_values(config: dict) -> dict:
    flat = schema.flatten(config)
    return {key: flat[key] for key in schema.MAIN_LEVERS}


def run_job(cfg: DictConfig, context: JobContext) -> str:
    """Run (or skip, if already complete) the job; return 'complete' or 'skipped'."""
    if cfg.get("uncertainty") is not None:  # a share of an uncertainty design's points
        from .design_job import run_chunk

        return run_chunk(cfg, context)
    out = Path(context.output_dir)
    config = schema.resolved(cfg)
    params, run = schema.params_from_config(config)
    digest = schema.config_hash(config)
    finished = completed_hash(out)
    if finished is not None and finished != digest:
        raise schema.ParameterError(
            f"{out} holds finished results of a different config; "
            "use another output folder or delete that one"
        )
    if run.resume and finished == digest:
        log.info("complete for this config already: skipped (%s)", out)
        return "skipped"
    for stale in (FAILURE, PROVENANCE):  # of an earlier, different or broken run
        (out / stale).unlink(missing_ok=True)
    try:
        return write_outputs(params, run, config, digest, context)
    except BaseException as err:
        io.write_json(
            out / FAILURE,
            {
                "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(),
                "config_hash": digest,
                "finished": datetime.now(UTC).isoformat(),
            },
        )
        raise


def write_outputs(params, run, config: dict, digest: str, context: JobContext) -> str:
    out = Path(context.output_dir)
    started, clock = datetime.now(UTC), time.perf_counter()
    seeds = [replicate_seed(run.seed, i) for i in range(run.replicates)]
    checkpoint = Checkpoint(out, digest, run.checkpoint_seconds)
    done = checkpoint.load() if run.resume else {}
    if not run.resume:
        checkpoint.clear()
    if done:
        log.info("reusing %d finished replicates from an interrupted run", len(done))
    label = f"job {context.num}" if context.num is not None else "replicates"
    results = run_batch(params, seeds, run.workers, checkpoint, done, label)

    ordered = [results[i] for i in range(run.replicates)]
    seconds = [metrics.pop("seconds", None) for metrics, _ in ordered]
    levers = lever_values(config)
    rows = [
        {"replicate": m["replicate"], "seed": m["seed"], **levers}
        | {k: v for k, v in m.items() if k not in ("replicate", "seed")}
        for m, _ in ordered
    ]
    tables = {
        REPLICATES: pd.DataFrame(rows),
        TIMESERIES: pd.concat([s for _, s in ordered], ignore_index=True),
    }
    for name, table in tables.items():
        io.write_csv(out / name, table)
    record = {
        "status": "complete",
        "config_hash": digest,
        "config": config,
        "seeds": seeds,
        "overrides": list(context.overrides),
        "choices": dict(context.choices),
        "job": {"num": context.num, "launcher": context.launcher},
        "environment": io.environment(),
        "timing": {
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": time.perf_counter() - clock,
            "replicate_seconds": seconds,
            "replicates_reused": len(done),
            "workers": run.workers,
        },
        "outputs": {
            name: {"sha256": io.sha256(out / name), "rows": len(table)}
            for name, table in tables.items()
        },
    }
    io.write_json(out / PROVENANCE, record)
    checkpoint.clear()
    log.info("%d replicates written to %s", run.replicates, out)
    return "complete"
