"""One Hydra job of a calibration: its share of the (point, seed) pairs, on any Hydra launcher.

`python -m experiments.calibrate ... jobs=N [hydra/launcher=joblib ...]` writes the pairs still
to run into `DIR/tasks.json` and starts this app as a Hydra sweep of N jobs
(`job=range(0,N)`), with the launcher overrides given (basic, joblib, submitit or Ray, as for
sweeps: `configs/hydra/launcher/`). Job `job` runs every N-th pair from `job` on, in
`workers` processes, and saves each finished pair under `DIR/.partial/` as the in-process
runner does, so that the calibration resumes from whatever any job finished.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from sim.params import with_overrides

from ...engine import io
from ...engine.design_job import PointCheckpoint
from ...engine.job import stop_with_command
from . import calibration

log = logging.getLogger(__name__)

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


def run_share(tasks_file: Path, job: int, jobs: int) -> int:
    """Run this job's share of the pairs in `tasks_file`; how many it ran."""
    from .calibrate import run_pairs  # as the in-process path runs them

    spec = io.read_json(tasks_file)
    if spec is None:
        raise FileNotFoundError(f"{tasks_file} is missing or unreadable")
    target_set = calibration.check_targets(spec["targets"])
    base = with_overrides(calibration.params_type()(), **spec["base"])
    share = spec["tasks"][job::jobs]
    tasks = [
        (base, target_set, t["targets"], t["values"], t["point"], t["replicate"], t["seed"])
        for t in share
    ]
    out = tasks_file.parent
    stop_with_command()  # in a launcher's worker process: end with the calibration
    checkpoint = PointCheckpoint(out, spec["config_hash"], spec["checkpoint_seconds"])
    started = time.perf_counter()
    run_pairs(tasks, spec["workers"], checkpoint, f"job {job} of {jobs}")
    log.info("job %d: %d pairs in %.0f s", job, len(tasks), time.perf_counter() - started)
    return len(tasks)


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="calibration_job")
def main(cfg: DictConfig) -> int:
    return run_share(Path(cfg.tasks), int(cfg.job), int(cfg.jobs))


def command() -> None:
    """`python -m experiments.calibrate_job`, started by experiments.calibrate: stop (and save)
    with it."""
    stop_with_command(signal.SIGTERM)
    main()
