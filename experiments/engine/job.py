"""One job: a share of the work of one composed config, written into the job's folder.

A job's work (`Work`) is a set of tasks run by the one runner (`runner.run_tasks`): the
replicates of a config (`replicates.py`), or, when the config has an `uncertainty` design, its
share of the design's points (`design_job.py`). Every kind of job then goes the same way here:

- its tables, each written atomically: `replicates.csv` (one row per replicate: replicate,
  seed, the main levers by dotted name, `schema.main_levers`, then every run metric of
  `ResearchModel.run_metrics()`) and `timeseries.csv` (one row per replicate and step), or
  `design_runs.csv`;
- `provenance.json`, written last: the full config and its hash, the work's own record (a
  design's points and arms), seeds, overrides, package versions, git commit, Python version,
  timing and the checksum of every table;
- resume: a job whose provenance says complete, for the same config hash (`job_digest`) and the
  same model code (`io.code_version`), with every table it lists matching its checksum, is
  skipped; one of other code is refused unless `run.resume=false`; a table whose checksum
  differs is named in a warning and the job runs again. Inside a job, finished tasks are saved
  to `.partial/` (`checkpoint.py`), so a rerun redoes only the tasks in progress;
- a job that fails writes `failure.json` with the error (the files' names and both records:
  `store.py`). A job holds `.job.lock` in its folder while it runs, so that two commands never
  write one job folder at once.
"""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from omegaconf import DictConfig

from . import design, design_job, io, lock, replicates, schema
from .replicates import replicate_seed
from .runner import exit_with_parent, run_tasks
from .store import FAILURE, PROGRESS, PROVENANCE, TABLES, provenance, record_failure
from .work import Work

log = logging.getLogger(__name__)

# what a job writes in its folder
FILES = (*TABLES, design_job.RUNS, PROVENANCE, FAILURE, PROGRESS, lock.JOB_LOCK)
COMMAND_PID = "RESEARCH_ABM_COMMAND_PID"  # set by experiments.run for the processes it starts


@dataclass
class JobContext:
    """What Hydra knows about the job: its folder, overrides, chosen presets and launcher."""

    output_dir: Path
    overrides: list[str] = field(default_factory=list)
    choices: dict = field(default_factory=dict)
    num: int | None = None
    launcher: str | None = None


@dataclass(frozen=True)
class Finished:
    """What a finished job's provenance says produced it."""

    config_hash: str | None
    code_version: str | None


def finished_record(job_dir: Path) -> tuple[dict | None, str | None]:
    """(provenance of complete, intact outputs, None) or (None, why they are not usable): every
    table the record lists must be there with its recorded checksum."""
    record = io.read_json(Path(job_dir) / PROVENANCE)
    if record is None:
        if (Path(job_dir) / PROVENANCE).exists():
            return None, f"{PROVENANCE} is unreadable (not a JSON object)"
        return None, "not finished"
    if record.get("status") != "complete":
        return None, "not finished"
    shapes = {"config": dict, "environment": dict, "choices": dict, "outputs": dict}
    for key, kind in shapes.items():
        if not isinstance(record.get(key, {} if key != "config" else None), kind):
            return None, f"{PROVENANCE} is damaged ({key} is not a JSON object)"
    if not record.get("outputs"):
        return None, f"{PROVENANCE} is damaged (it lists no outputs)"
    for name, output in record["outputs"].items():
        path = Path(job_dir) / name
        if not path.is_file():
            return None, f"{name} missing"
        if not isinstance(output, dict) or output.get("sha256") != io.sha256(path):
            return None, f"{name} changed after the job finished (checksum differs)"
    return record, None


def finished(job_dir: Path) -> Finished | None:
    """The resume key of the complete, intact outputs in `job_dir`, or None."""
    record, _ = finished_record(job_dir)
    if record is None:
        return None
    code = record.get("environment", {}).get("code_version")  # None: recorded before it existed
    return Finished(record.get("config_hash"), code)


def folder_problem(job_dir: Path) -> str | None:
    """Why a job could not write its files in `job_dir` (a file in the folder's place, or a
    folder in place of one of its files), or None."""
    job_dir = Path(job_dir)
    if job_dir.exists() and not job_dir.is_dir():
        return f"{job_dir} is a file where the job's folder should be; move it or pick another"
    for name in FILES:
        if (job_dir / name).is_dir():
            return f"{job_dir / name} is a folder where the job writes a file; move it away"
    return None


def job_digest(config: dict) -> str:
    """The config hash a job is resumed by: of the config, and of an ensemble design's file of
    parameter sets (its content, not only its name)."""
    spec = config.get("uncertainty")
    if spec is not None and spec.get("method") == "ensemble":
        ensemble = design.ensemble_digest(design.as_spec(spec))
        return schema.config_hash({**config, "ensemble_sha256": ensemble})
    return schema.config_hash(config)


def command_marker() -> str:
    """`HOST:PID` of this process, for the environment of the processes a command starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


def command_process() -> int | None:
    """The process id of the command that started this job, when it runs on this host.

    A job on another host (SLURM, a Ray cluster) does not watch it: the job is resumable and
    goes on if the submitting command ends.
    """
    host, _, pid = os.environ.get(COMMAND_PID, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def stop_with_command(signum: int | None = None) -> None:
    """End this process soon after the command that started it (on this host) ends: at once,
    or by sending itself `signum` (SIGTERM: it saves what finished, then stops)."""
    command = command_process()
    if command is not None and command != os.getpid():
        exit_with_parent(also_watch=command, signum=signum)


def run_command(command: list[str], cwd: Path) -> int:
    """Run another of the project's commands to its end; its exit status (128 + N if signal N
    killed it).

    It stops (saving what finished) when this process ends, even by kill -9: it watches this
    one (`stop_with_command`). SIGTERM or SIGHUP here is passed on to it as SIGTERM and, once
    it has stopped, handled here as usual. SIGINT is passed on too, unless it came from the
    terminal (a Ctrl-C there reaches both processes).
    """
    process = subprocess.Popen(command, cwd=cwd, env=os.environ | {COMMAND_PID: command_marker()})
    passed_on: list[int] = []

    def pass_on(signum, frame):
        passed_on.append(signum)
        process.send_signal(signal.SIGTERM)

    signums = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, pass_on) for signum in signums}
    try:
        while True:
            try:
                status = process.wait()
                break
            except KeyboardInterrupt:  # let it save and stop
                if not from_terminal():  # else it got the same Ctrl-C
                    process.send_signal(signal.SIGINT)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for signum in dict.fromkeys(passed_on):
        if callable(previous[signum]):
            previous[signum](signum, None)
    return 128 - status if status < 0 else status  # killed by signal N: 128 + N, as a shell says


def from_terminal() -> bool:
    """Whether this process runs in its terminal's foreground, where Ctrl-C reaches its whole
    process group."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):  # no terminal (or no stdin)
        return False


def run_job(cfg: DictConfig, context: JobContext) -> str:
    """Run (or skip, if already complete) the job; return 'complete' or 'skipped'."""
    stop_with_command()  # in a launcher's worker process: end with the command
    out = Path(context.output_dir)
    with lock.hold(out, lock.JOB_LOCK):
        return run_locked_job(cfg, context, out)


def run_locked_job(cfg: DictConfig, context: JobContext, out: Path) -> str:
    config = schema.resolved(cfg)
    params, run = schema.params_from_config(config)  # checks a design too
    digest = job_digest(config)
    done = finished(out)
    if done is not None and done.config_hash != digest:
        raise schema.ParameterError(
            f"{out} holds finished results of a different config; "
            "use another output folder or delete that one"
        )
    if done is not None and run.resume and done.code_version != io.code_version():
        raise schema.ParameterError(
            f"{out} holds finished results of other model code ({done.code_version}, now "
            f"{io.code_version()}); rerun with run.resume=false to recompute, or use another folder"
        )
    if run.resume and done is not None:
        log.info("complete for this config already: skipped (%s)", out)
        return "skipped"
    _, reason = finished_record(out)
    if reason not in (None, "not finished"):
        log.warning("%s: %s; running the job again", out, reason)
    for stale in (FAILURE, PROVENANCE):  # of an earlier, different or broken run
        (out / stale).unlink(missing_ok=True)
    seeds = [replicate_seed(run.seed, i) for i in range(run.replicates)]
    key = f"{digest} {io.code_version()}"
    if config.get("uncertainty") is not None:  # a share of an uncertainty design's points
        work = design_job.work(params, run, config["uncertainty"], seeds, out, key)
    else:
        progress = ProgressNote(out / PROGRESS)
        work = replicates.work(params, run, lever_values(config), seeds, out, key, progress)
        work.label = "" if context.num is not None else "replicates"  # a sweep has one bar
    try:
        return execute(work, run, config, digest, seeds, context)
    except BaseException as err:
        record_failure(out, err, digest)
        raise
    finally:
        with contextlib.suppress(OSError):  # a note for the display, not an output
            (out / PROGRESS).unlink(missing_ok=True)


def execute(work: Work, run, config: dict, digest: str, seeds: list[int], context) -> str:
    """Run the work's tasks not saved by an interrupted run, write its tables, then its
    provenance."""
    out = Path(context.output_dir)
    started, clock = datetime.now(UTC), time.perf_counter()
    saved = work.checkpoint.load() if run.resume else {}
    if not run.resume:
        work.checkpoint.clear()
    done = {number: result for number, result in saved.items() if number in work.tasks}
    if done:
        log.info("reusing %d finished %s from an interrupted run", len(done), work.what)
    results = run_tasks(
        work.task,
        work.tasks,
        run.workers,
        done=done,
        checkpoint=work.checkpoint,
        label=work.label,
        unit=work.unit,
        progress=work.progress,
    )
    tables = work.tables(results)
    for name, table in tables.items():
        io.write_csv(out / name, table)
    outputs = {n: {"sha256": io.sha256(out / n), "rows": len(t)} for n, t in tables.items()}
    timing = work.timing(results, len(done)) | {"workers": run.workers}
    record = provenance(
        config, digest, seeds, context, (started, clock), timing, outputs, **work.record
    )
    io.write_json(out / PROVENANCE, record)
    work.checkpoint.clear()
    log.info("%d %s written to %s", len(work.tasks), work.what, out)
    return "complete"


def lever_values(config: dict) -> dict:
    flat = schema.flatten(config)
    return {key: flat[key] for key in schema.main_levers()}


class ProgressNote:
    """Writes the count of finished replicates to the job's `.progress`, at most twice a second."""

    def __init__(self, path: Path):
        self.path, self.last = path, 0.0

    def __call__(self, done: int) -> None:
        if time.monotonic() - self.last >= 0.5:
            with contextlib.suppress(OSError):  # a display never stops the job
                io.write_text(self.path, str(done), durable=False)
            self.last = time.monotonic()
