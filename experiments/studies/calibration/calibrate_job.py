"""One Hydra job of a calibration: its share of the (point, seed) pairs, on any Hydra launcher.

`python -m experiments.calibrate ... jobs=N [hydra/launcher=joblib ...]` writes the pairs still
to run into `DIR/tasks.json` and starts this app as a Hydra sweep of N jobs
(`job=range(0,N)`), with the launcher overrides given (basic, joblib, submitit or Ray, as for
sweeps: `configs/hydra/launcher/`). Job `job` runs every N-th pair from `job` on, as every job
of the project runs its work (`engine/job.py`: `execute`): in `workers` processes, each finished
pair saved to the job's `.partial/`, then `pairs.csv` and `provenance.json` in `DIR/runs/JOB/`,
or `failure.json`. The calibration then takes every pair its jobs finished, those of a killed
job's checkpoint included (`harvest`), so that it resumes from whatever any job finished, however
many jobs the rerun has.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import SimpleNamespace

import hydra
import pandas as pd
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.params import with_overrides

from ...engine import io, lock, schema
from ...engine.checkpoint import TaskCheckpoint
from ...engine.job import JobContext, execute, finished_record, stop_with_command
from ...engine.store import FAILURE, PROVENANCE, record_failure
from ...engine.work import Work
from . import calibration

log = logging.getLogger(__name__)

PAIRS = "pairs.csv"
CONFIGS = Path(__file__).resolve().parents[3] / "configs"  # for configs/hydra/launcher/
ConfigStore.instance().store(
    name="calibration_job",
    node={
        "tasks": "???",  # DIR/tasks.json
        "job": 0,
        "jobs": 1,
        "hydra": {
            "job": {"chdir": False},
            # Mesa logs every model step at INFO: far too much for a batch of runs.
            "job_logging": {"loggers": {"MESA": {"level": "WARNING"}}},
        },
    },
)


class PairCheckpoint(TaskCheckpoint):
    """A job's finished pairs (`checkpoint.py`): one row each, numbered by `pair` in its share."""

    tables = ("pairs",)
    number = "pair"

    def load(self) -> dict[int, list[dict]]:
        return {
            int(row["pair"]): [row]
            for tables in self.chunks.load()
            for row in tables["pairs"].to_dict("records")
        }

    def as_tables(self, results: list[list[dict]]) -> dict[str, pd.DataFrame]:
        return {"pairs": pd.DataFrame([row for rows in results for row in rows])}


def run_task(base, target_set, target_ids, values, point, replicate, seed) -> list[dict]:
    """One (point, seed): the statistics of the named targets, as table rows (one row)."""
    params = with_overrides(base, **values)
    targets = [t for t in target_set.targets if t.id in target_ids]
    stats_ = calibration.evaluate(params, target_set, targets, seed)
    return [{"point": point, "replicate": replicate, "seed": seed} | values | stats_]


def run_pair(pair: int, *task) -> list[dict]:
    """One pair of a job's share (`run_task`), its rows numbered `pair`."""
    return [{"pair": pair} | row for row in run_task(*task)]


def run_share(tasks_file: Path, job: int, jobs: int, out: Path) -> str:
    """Run this job's share of the pairs in `tasks_file` into `out`; 'complete'."""
    spec = io.read_json(tasks_file)
    if spec is None:
        raise FileNotFoundError(f"{tasks_file} is missing or unreadable")
    target_set = calibration.check_targets(spec["targets"])
    base = with_overrides(calibration.params_type()(), **spec["base"])
    share = spec["tasks"][job::jobs]
    config = {"calibration": spec["config_hash"], "job": job, "jobs": jobs, "pairs": share}
    digest = schema.digest(config)
    for stale in (FAILURE, PROVENANCE):  # of an earlier share: its pairs were harvested
        (out / stale).unlink(missing_ok=True)
    names = ("targets", "values", "point", "replicate", "seed")
    key = f"{spec['config_hash']} {digest}"
    work = Work(
        tasks={n: (n, base, target_set, *(t[k] for k in names)) for n, t in enumerate(share)},
        task=run_pair,
        checkpoint=PairCheckpoint(out, key, spec["checkpoint_seconds"]),
        tables=lambda results: {PAIRS: pd.DataFrame([results[n][0] for n in sorted(results)])},
        timing=lambda results, reused: {"pairs_reused": reused},
        what="(point, seed) pairs",
        unit="pair",
    )
    run = SimpleNamespace(workers=spec["workers"], resume=True)
    context = JobContext(output_dir=out, overrides=[f"job={job}", f"jobs={jobs}"], num=job)
    try:
        return execute(work, run, config, digest, [t["seed"] for t in share], context)
    except BaseException as err:
        record_failure(out, err, digest)
        raise


def harvest(runs: Path, calibration_key: str) -> list[dict]:
    """Every pair that Hydra jobs of the calibration `calibration_key` finished under `runs`:
    each finished job's `pairs.csv` (checked against its provenance), else the sound chunks of
    its checkpoint. Both are deleted once taken, so no pair is taken twice; the
    job's provenance, failure record and log stay."""
    rows: list[dict] = []
    for job_dir in sorted(runs.iterdir() if runs.is_dir() else ()):
        if not job_dir.is_dir() or not job_dir.name.isdigit():
            continue
        record, _ = finished_record(job_dir)
        saved = PairCheckpoint(job_dir, "", 0.0).saved_key() or ""
        checkpoint = PairCheckpoint(job_dir, saved, 0.0)
        if record is not None and record["config"].get("calibration") == calibration_key:
            rows += io.read_csv(job_dir / PAIRS).to_dict("records")
        elif saved.startswith(calibration_key + " "):
            pairs = checkpoint.load()
            rows += [row for n in sorted(pairs) for row in pairs[n]]
        (job_dir / PAIRS).unlink(missing_ok=True)  # its provenance stays, as the job's record
        checkpoint.clear()
    return [{k: v for k, v in row.items() if k != "pair"} for row in rows]


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="calibration_job")
def main(cfg: DictConfig) -> str:
    out = Path(HydraConfig.get().runtime.output_dir)
    stop_with_command()  # in a launcher's worker process: end with the calibration
    with lock.hold(out, lock.JOB_LOCK):
        return run_share(Path(cfg.tasks), int(cfg.job), int(cfg.jobs), out)


def command() -> None:
    """`python -m experiments.calibrate_job`, started by experiments.calibrate: stop (and save)
    with it."""
    stop_with_command(signal.SIGTERM)
    main()
