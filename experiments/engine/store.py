"""What a job leaves in its folder: the files' names, its provenance record and failure record.

Every kind of job (`job.py`: a sweep's batch of replicates or a share of an uncertainty design)
writes `provenance.json` last, as the mark of a finished job, and `failure.json`
when it fails; readers (aggregation, progress, the studies) find them under these names.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from . import io

REPLICATES = "replicates.csv"
TIMESERIES = "timeseries.csv"
PROVENANCE = "provenance.json"
FAILURE = "failure.json"
PROGRESS = ".progress"  # finished replicates of a running job, for the sweep's overall bar
TABLES = (REPLICATES, TIMESERIES)


def provenance(config, digest, seeds, context, began, timing, outputs, **extra) -> dict:
    """The record of a finished job: its config and hash, seeds, overrides, launcher, versions
    and code (`io.environment`), timing (`began` is the start's datetime and perf_counter) and
    the checksums of its outputs; `extra` entries follow the config."""
    started, clock = began
    return {
        "status": "complete",
        "config_hash": digest,
        "config": config,
        **extra,
        "seeds": seeds,
        "overrides": list(context.overrides),
        "choices": dict(context.choices),
        "job": {"num": context.num, "launcher": context.launcher},
        "environment": io.environment(),
        "timing": {
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": time.perf_counter() - clock,
            **timing,
        },
        "outputs": outputs,
    }


def record_failure(out: Path, err: BaseException, digest: str) -> None:
    """`failure.json`: the error, its traceback and the config hash of the job that failed
    (unless it cannot be written either, as on a full disk: the error is raised anyway)."""
    with contextlib.suppress(OSError):
        io.write_json(
            out / FAILURE,
            {
                "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(),
                "config_hash": digest,
                "finished": datetime.now(UTC).isoformat(),
            },
        )


def code_versions(records: dict[str, dict]) -> dict[str, list[str]]:
    """The jobs of each model code version (`io.code_version`) among complete jobs."""
    jobs: dict[str, list[str]] = {}
    for name, record in records.items():
        version = record.get("environment", {}).get("code_version") or "unrecorded"
        jobs.setdefault(version, []).append(name)
    return jobs
