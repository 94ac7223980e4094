"""`python -m experiments.run [overrides]`: one job (or, with -m, a sweep of jobs) of replicates.

Every job the command would launch is checked first (experiments/preflight.py): an unknown key,
a wrong type, a value out of range, a job folder holding another config's results or other model
code's, or Hydra settings that would run code or write outside the output folder stop the
command with one line on stderr and exit status 2, before anything runs. The command then holds
its folder (engine/lock.py), so that a second command on the same folder stops at once
with one line naming the holder (or, with --wait, waits for it). Hydra composes
`configs/config.yaml` and runs each job (engine/job.py) with the chosen launcher; a sweep
shows one progress display for all its jobs (engine/progress.py). Ctrl-C or SIGTERM stop
it with a line saying how to resume.

    python -m experiments.run run=quick incentives=hhmi_like
    python -m experiments.run -m experiment=headline hydra/launcher=joblib

Flags of this command (besides Hydra's -m, --help, --cfg, --info): `--wait` waits for a folder
held by another command; `--allow-outside-project` allows a hydra.run.dir or hydra.sweep.dir
that climbs out of the current folder with `..`.
"""

import contextlib
import os
import secrets
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim import ResearchModel

from ...engine import hydra_compat, lock, preflight, progress, schema
from ...engine.errors import BadInput
from ...engine.job import COMMAND_PID, JobContext, command_marker, run_job, stop_with_command
from ...engine.runner import WorkerLost, failure_text, sigterm_as_exit

WAIT = "--wait"
ALLOW_OUTSIDE = "--allow-outside-project"

CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs"  # absolute: found when imported


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_app(cfg: DictConfig) -> str:
    """Hydra's task function: run one job in the folder Hydra made for it."""
    hc = HydraConfig.get()
    context = JobContext(
        output_dir=hc.runtime.output_dir,
        overrides=list(hc.overrides.task),
        choices=OmegaConf.to_container(hc.runtime.choices),  # type: ignore[arg-type]
        num=hc.job.get("num") if hc.mode.name == "MULTIRUN" else None,
        launcher=hc.launcher.get("_target_"),
    )
    try:
        return run_job(cfg, context)
    except (OSError, WorkerLost) as err:  # a full disk, a folder in a file's place, a lost worker
        sys.stderr.write(
            f"error: {failure_text(err)}; finished jobs and replicates are kept: "
            "rerun the same command to resume once that is fixed\n"
        )
        raise SystemExit(1) from None


def fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


@contextlib.contextmanager
def holding(prepared: preflight.Prepared, wait: bool) -> Iterator[None]:
    """Hold the command's folder; one line and exit 2 if it is busy or cannot be written."""
    folder = prepared.folder
    if lock.is_held(folder.parent):  # a job folder of a running sweep: not this command's
        fail(f"{folder.parent} is in use by {lock.holder_text(folder.parent / lock.COMMAND_LOCK)}")
    if prepared.multirun and lock.is_held(folder, lock.JOB_LOCK):
        fail(f"{folder} is in use by {lock.holder_text(folder / lock.JOB_LOCK)}")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock.hold(folder, wait=wait))
        except lock.FolderBusy as err:
            fail(str(err))
        except OSError as err:
            fail(f"cannot write to {err.filename or folder}: {err.strerror or err}")
        for job in prepared.jobs if prepared.multirun else ():
            for name in (lock.COMMAND_LOCK, lock.JOB_LOCK):  # a single-job command's
                if lock.is_held(job.folder, name):
                    fail(f"{job.folder} is in use by {lock.holder_text(job.folder / name)}")
        yield


def main(argv: list[str] | None = None) -> None:
    """Check the whole command, hold its folder, then hand it to Hydra."""
    argv = sys.argv[1:] if argv is None else list(argv)
    schema.register()  # the schema of the model's mechanisms as they are now
    own = [a for a in argv if a in (WAIT, ALLOW_OUTSIDE)]
    wait, allow_outside = WAIT in own, ALLOW_OUTSIDE in own
    argv = [a for a in argv if a not in own]
    try:
        prepared = preflight.prepare(argv, allow_outside)
    except BadInput as err:
        fail(str(err))
    if prepared is None:  # Hydra's information flags: no job runs
        sys.argv = [sys.argv[0], *argv]
        hydra_app()
        return
    for warning in prepared.warnings:
        sys.stderr.write(warning + "\n")
    # -m first, once: Hydra's parser reads no flag between overrides
    arguments = [a for a in argv if a not in preflight.MULTIRUN_FLAGS]
    argv = ["-m"] * prepared.multirun + arguments + prepared.pinned
    stop_with_command(signal.SIGTERM)  # started by another command: stop (and save) with it
    os.environ[COMMAND_PID] = command_marker()  # launcher workers here end when this one does
    if prepared.local_ray:
        private_ray_token()
    try:
        compile_kernels()
        with holding(prepared, wait):
            try:  # again, now that no other command can write the folder
                preflight.check_folders(prepared.jobs)
            except BadInput as err:
                fail(str(err))
            sys.argv = [sys.argv[0], *argv]
            with (
                sigterm_as_exit(),
                hydra_compat.single_composition(),
                progress.watch(prepared),
            ):
                hydra_app()
    except KeyboardInterrupt:
        stopped(argv, own, prepared, "interrupted", 130)
    except SystemExit as ended:
        if ended.code == 128 + signal.SIGTERM:
            stopped(argv, own, prepared, "stopped by SIGTERM", ended.code)
        raise


def stopped(
    argv: list[str], flags: list[str], prepared: preflight.Prepared, how: str, status: int
) -> None:
    """Say what was kept and how to resume, then exit with `status`."""
    command = " ".join(["python -m experiments.run", shlex.join([*flags, *argv])])
    sys.stderr.write(
        f"{how}: finished jobs and replicates are kept in {prepared.folder}; to resume, run: "
        f"{command}\n"
    )
    raise SystemExit(status)


def private_ray_token() -> None:
    """Give the local Ray cluster this command starts a token kept in its processes' environment.

    Ray (2.60) turns token authentication on for a new local cluster and, without a token, writes
    a new one to ~/.ray/auth_token with the default permissions: readable by every user of the
    machine, who could then run code in the cluster. A token of the user's own is used as it is.
    """
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled" or any(
        name in os.environ for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    ):
        return
    saved = Path.home() / ".ray" / "auth_token"
    if not saved.exists():
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    elif saved.stat().st_mode & 0o077:
        sys.stderr.write(f"warning: {saved} is readable by other users; run: chmod 600 {saved}\n")


def compile_kernels() -> None:
    """Compile the model's numba kernels here, once, into numba's cache: a launcher's worker
    processes then load them instead of all compiling and writing the cache at the same time."""
    ResearchModel(seed=0, n_researchers=20, years=1.0).run()


if __name__ == "__main__":
    main()
