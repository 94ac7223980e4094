"""Signals, killed processes and failed writes (issue 24): each ends in one line with the right
exit status and no process left behind, or is recovered from with nothing lost."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from numba.core.registry import CPUDispatcher
from test_faults import ROOT, SMALL, cli, one_line_error

from experiments.engine import lock, preflight
from experiments.engine.errors import BadInput
from experiments.engine.lock import JOB_LOCK
from experiments.engine.runner import WorkerLost, run_parallel
from experiments.engine.store import PROGRESS, PROVENANCE
from sim import kernels

LINUX = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")


def terminal_ctrl_c() -> None:
    """As in a terminal: a shell without job control (CI) starts its children ignoring Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(condition, seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def status(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, parent, ... ([] once gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def children(pid: int) -> list[int]:
    numbers = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [child for child in numbers if status(child)[1:2] == [str(pid)]]


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs."""
    found = children(pid)
    return found + [p for child in found for p in descendants(child)]


def alive(pid: int) -> bool:
    return status(pid)[:1] not in ([], ["Z"])


def none_alive(pids: list[int], seconds: float = 20.0) -> bool:
    return wait_for(lambda: not any(alive(pid) for pid in pids), seconds)


# --- 11: Ctrl-C at any moment --------------------------------------------------------------------


def test_every_compiled_kernel_is_called_with_ctrl_c_and_sigterm_held():
    """A signal handled inside numba's conversion of a kernel's result crashed the process
    (SIGSEGV, or SystemError "returned a result with an exception set")."""
    compiled = {name for name, value in vars(kernels).items() if isinstance(value, CPUDispatcher)}
    assert compiled == {"_uniform"}  # inlined into the kernels, never called from Python
    assert isinstance(kernels.merge_by_due.compiled, CPUDispatcher)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ran = []

        def kernel(x):
            signal.raise_signal(signal.SIGINT)  # arrives while the kernel runs
            ran.append(x)
            return x

        with pytest.raises(KeyboardInterrupt):
            kernels.held(kernel)(1)
        assert ran == [1]  # the kernel ran to its end; the Ctrl-C came after
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


@LINUX
def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path):
    command = [sys.executable, "-m", "experiments.run", *SMALL, f"hydra.run.dir={tmp_path}"]
    process = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, preexec_fn=terminal_ctrl_c
    )
    maps = Path(f"/proc/{process.pid}/maps")

    def loading() -> bool:  # the libraries are being imported
        try:
            return "_multiarray_umath" in maps.read_text()
        except OSError:
            return process.poll() is not None

    assert wait_for(loading)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode in (130, -signal.SIGINT)
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1 and stderr.startswith("interrupted"), stderr


# --- 13: a worker killed from outside ------------------------------------------------------------


def die_once(marker: str) -> int:
    """Kill this worker process the first time; return its number the second."""
    if not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_a_killed_worker_s_tasks_run_once_more_then_the_loss_is_one_error(tmp_path):
    results = {}
    run_parallel(die_once, {0: (str(tmp_path / "died"),)}, 2, results.__setitem__)
    assert list(results) == [0]
    with pytest.raises(WorkerLost, match="a worker process died again"):
        run_parallel(os._exit, {0: (1,), 1: (1,)}, 2, results.__setitem__)


@LINUX
def test_a_job_whose_worker_is_killed_finishes_with_every_replicate(tmp_path):
    arguments = ["run.replicates=60", "run.workers=2", "run.checkpoint_seconds=0", *SMALL[1:]]
    command = [sys.executable, "-m", "experiments.run", *arguments, f"hydra.run.dir={tmp_path}"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_for(lambda: list(tmp_path.glob(".partial/chunk-*.json"))), "no replicate finished"
    workers = [pid for child in children(process.pid) for pid in children(child)]
    assert workers  # the fork server's children
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()
    assert "a worker process died" in stdout.decode()  # the job's log
    rows = (tmp_path / "replicates.csv").read_text().splitlines()
    assert len(rows) == 61


# --- 12: the commands that start other commands --------------------------------------------------


def headline(tmp_path: Path) -> subprocess.Popen:
    arguments = ["run.replicates=400", "run.workers=2", "run.checkpoint_seconds=0", *SMALL[1:]]
    command = [sys.executable, "-m", "experiments.headline", "headline", "--out", str(tmp_path)]
    return subprocess.Popen(
        [*command, *arguments],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,  # no terminal: a Ctrl-C reaches headline alone
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=terminal_ctrl_c,
    )


@LINUX
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_headline_leaves_no_sweep_or_worker_running(tmp_path, how):
    process = headline(tmp_path)
    assert wait_for(lambda: list(tmp_path.glob("runs/*/.partial/chunk-*.json"))), "no progress"
    started = descendants(process.pid)
    assert len(started) >= 3  # the sweep, its fork server and workers
    process.send_signal(how)
    _, stderr = process.communicate(timeout=120)
    assert none_alive(started), [p for p in started if alive(p)]
    assert list(tmp_path.glob("runs/*/.partial/chunk-*.json"))  # finished replicates kept
    if how != signal.SIGKILL:
        assert process.returncode == 128 + how
        assert "Traceback" not in stderr.decode()
        assert (
            stderr.decode()
            .splitlines()[-1]
            .startswith("to resume, run: python -m experiments.headline headline --out")
        )


CALIBRATION = [
    "calibration=quick",
    "population=40",
    "generations=2",
    "pilot_points=2",
    "replicates=2",
    "confirm_points=0",
    "validation_replicates=2",
    "base.population.n_researchers=100",
    "checkpoint_seconds=0",
]


@LINUX
@pytest.mark.parametrize("jobs", [0, 1])
def test_kill_9_of_a_calibration_leaves_no_process(tmp_path, jobs):
    command = [sys.executable, "-m", "experiments.calibrate", *CALIBRATION, f"jobs={jobs}"]
    process = subprocess.Popen(
        [*command, "--out", str(tmp_path)], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    saved = ".partial/points-*.csv" if jobs == 0 else "runs/0/.partial/pairs-*.csv"  # a job's
    assert wait_for(lambda: list(tmp_path.glob(saved))), "no pair finished"
    started = descendants(process.pid)
    assert started
    process.kill()
    process.wait()
    assert none_alive(started), [p for p in started if alive(p)]


# --- 14: writes that fail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "what"),
    [
        (PROVENANCE, "is a folder where the job writes a file"),
        (JOB_LOCK, "is a folder where the job writes a file"),
        (PROGRESS, "is a folder where the job writes a file"),
        ("", "is a file where the job's folder should be"),
    ],
)
@pytest.mark.parametrize("sweep", [False, True])
def test_a_folder_or_file_in_the_wrong_place_is_refused_before_anything_runs(
    tmp_path, where, what, sweep
):
    job_dir = tmp_path / "out" / "1" if sweep else tmp_path / "out"
    if where:
        (job_dir / where).mkdir(parents=True)
    else:
        job_dir.parent.mkdir(parents=True, exist_ok=True)
        job_dir.write_text("not a folder")
    folder = f"hydra.sweep.dir={tmp_path / 'out'}" if sweep else f"hydra.run.dir={job_dir}"
    arguments = ["-m", "oversight.intensity=0,1"] if sweep else []
    with pytest.raises(BadInput) as caught:
        preflight.prepare([*arguments, *SMALL, folder])
    assert str(caught.value) == f"{job_dir / where if where else job_dir} {what}" + (
        "; move it or pick another" if not where else "; move it away"
    )


def test_the_command_says_so_in_one_line(tmp_path):
    (tmp_path / PROVENANCE).mkdir()
    line = one_line_error(cli(*SMALL, f"hydra.run.dir={tmp_path}"))
    assert line == f"error: {tmp_path / PROVENANCE} is a folder where the job writes a file; " + (
        "move it away"
    )


FULL_DISK = """
import errno, os, runpy, sys
def full(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
os.fsync = full  # every durable write fails, as on a full disk
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("module", ["experiments.run", "experiments.calibrate"])
def test_a_full_disk_stops_the_command_with_one_line_naming_the_file(tmp_path, module):
    if module == "experiments.run":
        arguments = [*SMALL, f"hydra.run.dir={tmp_path}"]
    else:
        arguments = [*CALIBRATION, "population=2", "workers=1", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, module, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {tmp_path}{os.sep}")  # the file that could not be written
    assert os.strerror(errno.ENOSPC) in lines[0] and "rerun the same command" in lines[0]


# --- 18: what a calibration prints ----------------------------------------------------------------


def test_a_calibration_in_one_process_prints_no_model_step(tmp_path):
    arguments = [*CALIBRATION, "population=2", "workers=1", "--out", str(tmp_path)]
    done = cli(*arguments, module="experiments.calibrate")
    assert done.returncode == 0, done.stderr
    assert "model.step" not in done.stderr
    assert len(done.stderr.splitlines()) < 20


def test_a_second_calibration_with_wait_queues_behind_the_first(tmp_path):
    """The message of a busy folder offers --wait, which the calibration did not accept."""
    with lock.hold(tmp_path):
        line = one_line_error(
            cli(*CALIBRATION, "--out", str(tmp_path), module="experiments.calibrate")
        )
        assert "--wait" in line
        command = [sys.executable, "-m", "experiments.calibrate", *CALIBRATION, "population=2"]
        process = subprocess.Popen(
            [*command, "workers=1", "--wait", "--out", str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert not wait_for(lambda: process.poll() is not None, seconds=3)  # waiting
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "table.md complete" in stdout
