"""Fault injection: damaged checkpoints and tables, two commands on one folder, killed sweeps,
model code changed between runs, config that would run code or write elsewhere, and the crashes
and silent acceptances of issue 14. Each fault is survived with nothing lost and nothing silently
wrong; each bad input is refused with one line and exit status 2."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

import sim.kernels
from experiments.engine import io, lock, preflight, runner, schema
from experiments.engine.checkpoint import PARTIAL_DIR
from experiments.engine.errors import BadInput
from experiments.engine.job import COMMAND_PID
from experiments.engine.replicates import Checkpoint, replicate_seed
from experiments.engine.store import PROVENANCE
from experiments.studies.sweep import headline
from experiments.studies.sweep.aggregate import AggregateError, aggregate
from sim import ParameterError, ResearchModel
from sim.schema import FIXED_AT_START
from tests.batches import run_batch

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "run.replicates=2",
    "run.years=2",
    "run.burn_in_years=1",
    "population.n_researchers=200",
    "population.n_institutions=10",
]
GRID = ["oversight.intensity=0,1"]


def cli(*arguments: str, module: str = "experiments.run", **kwargs):
    command = [sys.executable, "-m", module, *arguments]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "sweep"
    done = cli("-m", *GRID, *SMALL, f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def sweep_dir(finished_sweep, tmp_path) -> Path:
    copy = tmp_path / "sweep"
    shutil.copytree(finished_sweep, copy)
    return copy


def rerun(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli("-m", *GRID, *SMALL, f"hydra.sweep.dir={out}", *extra)


# --- checkpoints -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_params():
    schema.register()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("config", overrides=SMALL)
    return schema.to_params(cfg)[0]


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "edit":  # one digit of one value changed: still a well-formed table
        last = data.rstrip().rfind(b"1")
        path.write_bytes(data[:last] + b"2" + data[last + 1 :])
    elif how == "json list":
        path.write_text("[1, 2]")
    elif how == "delete":
        path.unlink()


@pytest.mark.parametrize(
    ("part", "how"),
    [
        ("replicates", "truncate"),
        ("timeseries", "truncate"),
        ("replicates", "empty"),
        ("timeseries", "random"),
        ("replicates", "edit"),
        ("timeseries", "edit"),
        ("timeseries", "delete"),
        ("chunk", "random"),
        ("chunk", "json list"),
        ("chunk", "empty"),
    ],
)
def test_a_damaged_checkpoint_chunk_is_named_and_redone(tmp_path, small_params, part, how, caplog):
    seeds = [replicate_seed(0, i) for i in range(3)]
    whole = run_batch(small_params, seeds, 1, Checkpoint(tmp_path / "whole", "k", 1e9), {})
    run_batch(small_params, seeds, 1, Checkpoint(tmp_path / "job", "k", 0.0), {})
    chunks = sorted((tmp_path / "job" / PARTIAL_DIR).glob(f"{part}-*"))
    assert len(chunks) == 3  # one chunk per replicate with checkpoint_seconds=0
    damage(chunks[1], how)
    saved = Checkpoint(tmp_path / "job", "k", 0.0).load(3)
    assert sorted(saved) == [0, 2]
    assert chunks[1].stem.split("-", 1)[1] in caplog.text and "damaged" in caplog.text
    resumed = run_batch(small_params, seeds, 1, Checkpoint(tmp_path / "job", "k", 0.0), saved)
    for i in range(3):
        assert {k: v for k, v in resumed[i][0].items() if k != "seconds"} == {
            k: v for k, v in whole[i][0].items() if k != "seconds"
        }
        pd.testing.assert_frame_equal(resumed[i][1], whole[i][1], check_dtype=False)


def test_a_chunk_cut_off_before_its_manifest_and_a_garbage_key_are_discarded(
    tmp_path, small_params
):
    seeds = [replicate_seed(0, i) for i in range(2)]
    run_batch(small_params, seeds, 1, Checkpoint(tmp_path, "k", 0.0), {})
    partial = tmp_path / PARTIAL_DIR
    next(iter(sorted(partial.glob("chunk-*.json")))).unlink()  # killed between the files
    assert sorted(Checkpoint(tmp_path, "k", 0.0).load(2)) == [1]
    assert len(list(partial.glob("*.csv"))) == 2  # the stray pair is gone
    (partial / "notes.csv").write_text("a stray file of any name")
    (partial / "chunk-x.json").mkdir()  # even a folder where a manifest should be
    assert sorted(Checkpoint(tmp_path, "k", 0.0).load(2)) == [1]
    (partial / "key").write_bytes(b"\xff\xfe garbage")
    assert Checkpoint(tmp_path, "k", 0.0).load(2) == {}
    assert not partial.exists()


# --- finished tables and provenance ------------------------------------------------------------


def test_a_tampered_finished_table_makes_the_job_run_again(sweep_dir):
    original = (sweep_dir / "0" / "replicates.csv").read_bytes()
    damage(sweep_dir / "0" / "replicates.csv", "edit")
    done = rerun(sweep_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("skipped") == 1  # job 1 only
    assert "replicates.csv changed after the job finished" in done.stdout
    assert (sweep_dir / "0" / "replicates.csv").read_bytes() == original


def test_a_provenance_holding_a_list_is_named_and_the_job_redone(sweep_dir):
    (sweep_dir / "1" / PROVENANCE).write_text("[1, 2, 3]")
    sweep = aggregate(sweep_dir, write=False)
    assert sweep.jobs["1"] == "provenance.json is unreadable (not a JSON object)"
    done = rerun(sweep_dir)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert io.read_json(sweep_dir / "1" / PROVENANCE)["status"] == "complete"


# --- model code changed between runs -----------------------------------------------------------


def test_jobs_of_other_model_code_are_refused_and_never_mixed(sweep_dir, capsys):
    record = json.loads((sweep_dir / "0" / PROVENANCE).read_text())
    record["environment"]["code_version"] = "0123456789abcdef"  # as if the model had changed
    (sweep_dir / "0" / PROVENANCE).write_text(json.dumps(record))
    line = one_line_error(rerun(sweep_dir))
    assert "other model code" in line and "run.resume=false" in line
    with pytest.raises(AggregateError, match="2 versions of the model code.*0123456789abcdef"):
        aggregate(sweep_dir, write=False)
    assert len(aggregate(sweep_dir, write=False, allow_mixed_code=True).replicates) == 4
    line = one_line_error(cli(str(sweep_dir), module="experiments.report"))
    assert "2 versions of the model code" in line and "jobs 0" in line
    assert rerun(sweep_dir, "run.resume=false").returncode == 0
    assert len(aggregate(sweep_dir, write=False).replicates) == 4


# --- two commands on one folder ----------------------------------------------------------------


def test_a_second_command_on_a_held_folder_is_refused_naming_the_holder(sweep_dir):
    with lock.hold(sweep_dir):
        line = one_line_error(rerun(sweep_dir))
        assert f"process {os.getpid()}" in line and "--wait" in line
        # a single job into a job folder of the held sweep too
        line = one_line_error(
            cli("oversight.intensity=0", *SMALL, f"hydra.run.dir={sweep_dir / '0'}")
        )
        assert f"process {os.getpid()}" in line
    with lock.hold(sweep_dir / "1", lock.JOB_LOCK):  # a job of another command running
        line = one_line_error(rerun(sweep_dir, "run.resume=false"))
        assert f"{sweep_dir / '1'} is in use by process {os.getpid()}" in line


def test_a_waiting_command_runs_once_the_holder_is_gone_and_a_dead_holder_is_taken_over(
    sweep_dir,
):
    (sweep_dir / lock.COMMAND_LOCK).write_text('{"pid": 1, "host": "gone", "started": "x"}')
    assert not lock.is_held(sweep_dir)  # left by a killed command: free
    held = lock.hold(sweep_dir)
    held.__enter__()
    command = [sys.executable, "-m", "experiments.run", "--wait", "-m", *GRID, *SMALL]
    process = subprocess.Popen(
        [*command, f"hydra.sweep.dir={sweep_dir}"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    time.sleep(1.0)
    assert process.poll() is None  # waiting
    held.__exit__(None, None, None)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and stdout.count("skipped") == 2


# --- killed sweeps leave no process ------------------------------------------------------------


def processes_of(command_pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == command_pid:
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{COMMAND_PID}={socket.gethostname()}:{command_pid}".encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_kill_9_of_a_sweep_with_workers_leaves_no_process(tmp_path, launcher):
    out = tmp_path / "sweep"
    arguments = [
        "-m",
        *GRID,
        "run.replicates=400",
        "run.years=2",
        "run.burn_in_years=1",
        "run.workers=2",
    ]
    arguments += ["population.n_researchers=200", f"hydra.sweep.dir={out}"]
    if launcher == "joblib":
        arguments += ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    command = [sys.executable, "-m", "experiments.run", *arguments]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 90
    while not list(out.glob("*/.progress")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.glob("*/.progress")), "the workers never started"
    assert processes_of(process.pid), "no worker processes to orphan"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 5
    while processes_of(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(process.pid) == []


def test_a_job_on_another_host_does_not_watch_the_command(monkeypatch):
    from experiments.engine import job

    monkeypatch.setenv(COMMAND_PID, "a-cluster-login-node:1")  # as a SLURM job inherits it
    assert job.command_process() is None
    monkeypatch.setenv(COMMAND_PID, f"{socket.gethostname()}:123")
    assert job.command_process() == 123


def test_ctrl_c_says_how_to_resume(tmp_path):
    out = tmp_path / "job"
    command = [
        sys.executable,
        "-m",
        "experiments.run",
        "run.replicates=20000",
        "run.years=2",
        "run.burn_in_years=1",
    ]
    command += ["population.n_researchers=200", "run.checkpoint_seconds=0", f"hydra.run.dir={out}"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # as in a terminal: a shell without job control (a CI script, `make ... &`) starts its
        # children with Ctrl-C ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env=os.environ | {"PYTHONFAULTHANDLER": "1"},  # a crash shows where it happened
    )
    deadline = time.monotonic() + 180  # generous: start-up is slow on a loaded machine
    while not list(out.glob(".partial/chunk-*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(out.glob(".partial/chunk-*.json")), "no replicate finished within 3 minutes"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr.decode()
    assert "Traceback" not in stderr.decode()
    last = stderr.decode().strip().splitlines()[-1]
    assert last.startswith("interrupted: finished jobs and replicates are kept")
    assert "to resume, run: python -m experiments.run run.replicates=20000" in last
    assert str(out) in last


def test_a_signal_during_a_model_run_takes_effect_when_the_run_ends():
    """Ctrl-C inside numba's conversion of a kernel's result crashed the job (SIGSEGV, or a
    SystemError and exit 1) instead of saving and saying how to resume: a model run holds
    SIGINT and SIGTERM, and their handlers run as soon as it ends."""
    # as in a terminal: a shell without job control (CI) may start the tests with Ctrl-C ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ran = []
        with pytest.raises(KeyboardInterrupt), sim.kernels.signals_held():
            signal.raise_signal(signal.SIGINT)
            ran.append(ResearchModel(seed=0, n_researchers=20, years=1.0).run())
        assert len(ran) == 1  # the run was not cut short
        with pytest.raises(SystemExit) as stop, runner.sigterm_as_exit():
            with sim.kernels.signals_held():
                signal.raise_signal(signal.SIGTERM)
                ran.append(None)
        assert stop.value.code == 128 + signal.SIGTERM and len(ran) == 2
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)


# --- config that would run code or write elsewhere ---------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        (
            ["+hydra.callbacks.x._target_=pathlib.Path.touch", "+hydra.callbacks.x.self=F"],
            "hydra.callbacks.x",
        ),
        (["hydra.launcher._target_=pathlib.Path.touch"], "hydra.launcher._target_"),
        (["+hydra.sweeper.x._target_=os.system"], "hydra.sweeper.x._target_"),
        (["hydra.output_subdir=../../x"], "hydra.output_subdir"),
        (["hydra.output_subdir=/tmp/x"], "hydra.output_subdir"),
        (["hydra.job_logging.handlers.file.filename=/tmp/x.log"], "filename"),
        (["+hydra.job_logging.handlers.x.class=pathlib.Path.touch"], "hydra.job_logging"),
        (["+hydra.job.env_set.LD_PRELOAD=/tmp/x.so"], "hydra.job.env_set"),
        (["hydra.run.dir=../../../elsewhere"], "hydra.run.dir"),
        (["-m", "hydra.sweep.dir=../../elsewhere"], "hydra.sweep.dir"),
        (["-m", "hydra.sweep.subdir=../${hydra.job.num}"], "hydra.sweep.subdir"),
        (["-cd", "/tmp"], "-cd"),
        (["hydra.mode=MULTIRUN"], "hydra.mode"),
        (["hydra/launcher=slurm", "hydra.launcher.setup=[touch x]"], "hydra.launcher.setup"),
        (["+incentives._target_=os.system"], "incentives._target_"),
    ],
)
def test_config_that_would_run_code_or_write_outside_is_refused(arguments, key):
    with pytest.raises(BadInput) as caught:
        preflight.check(arguments)
    assert "\n" not in str(caught.value) and key in str(caught.value)


def test_an_experiment_file_with_a_callback_is_refused(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    (configs / "experiment" / "evil.yaml").write_text(
        "# @package _global_\nhydra:\n  callbacks:\n    touch:\n"
        "      _target_: pathlib.Path.touch\n      self: ${hydra.runtime.cwd}/touched\n"
    )
    monkeypatch.setattr(preflight, "CONFIG_DIR", configs)
    with pytest.raises(BadInput, match="hydra.callbacks.touch"):
        preflight.check(["-m", "experiment=evil"])
    assert not (ROOT / "touched").exists()


def test_a_climbing_folder_is_allowed_with_the_explicit_flag():
    assert preflight.check(["hydra.run.dir=../../elsewhere"], allow_outside=True)


def test_the_command_refuses_a_callback_before_running_anything(tmp_path):
    touched = tmp_path / "touched"
    done = cli(
        "+hydra.callbacks.x._target_=pathlib.Path.touch",
        f"+hydra.callbacks.x.self={touched}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    assert "hydra.callbacks.x" in one_line_error(done)
    assert not touched.exists() and not (tmp_path / "out").exists()


def test_an_unwritable_output_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    line = one_line_error(cli(*SMALL, f"hydra.run.dir={tmp_path / 'file' / 'job'}"))
    assert line.startswith(f"error: cannot write to {tmp_path / 'file' / 'job'}")


# --- silently accepted, refused though valid ---------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "population.n_researchers",
        "run.years",
        "run.start_year",
        "fields.shares",
        "population.n_institutions",
    ],
)
def test_a_timeline_event_for_a_key_read_once_is_refused(key):
    assert key in FIXED_AT_START
    value = "[0.5,0.5,0,0,0,0]" if key == "fields.shares" else "30"
    with pytest.raises(BadInput, match=f"timeline\\[0\\] {key}: cannot change during a run"):
        preflight.check([f"timeline=[{{year:2020,key:{key},value:{value}}}]"])


def test_conflicting_overrides_warn_which_one_is_used():
    prepared = preflight.prepare(["oversight.intensity=0.2", "oversight.intensity=0.8"])
    assert prepared.warnings == [
        "warning: oversight.intensity is given 2 times (0.2, 0.8); the last one (0.8) is used"
    ]
    assert preflight.prepare(["oversight.intensity=0.2"]).warnings == []


def test_numpy_scalars_are_accepted_wherever_python_ones_are():
    model = ResearchModel(
        seed=1,  # a numpy seed reaches random.seed in Mesa 3.5: sim/model.py must convert it
        n_researchers=np.int64(300),
        publication_weight=np.float32(0.5),
        enabled=np.bool_(True),
        years=np.float64(1.0),
    )
    assert model.p.population.n_researchers == 300
    assert type(model.p.population.n_researchers) is int
    assert type(model.p.export_controls.enabled) is bool
    with pytest.raises(ParameterError, match="must be a whole number"):
        ResearchModel(seed=1, n_researchers=np.float64("nan"))


# --- reports and --fresh -----------------------------------------------------------------------


def test_a_single_job_folder_and_a_sweep_of_one_complete_job_report(sweep_dir, tmp_path):
    done = cli(str(sweep_dir / "0"), "--out", str(tmp_path / "one"), module="experiments.report")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "one" / "report.md").is_file()
    shutil.rmtree(sweep_dir / "1")
    done = cli(str(sweep_dir), "--out", str(tmp_path / "sweep"), module="experiments.report")
    assert done.returncode == 0, done.stderr


def test_fresh_deletes_only_inside_the_projects_output_folders(tmp_path, capsys):
    outside = tmp_path / "precious" / "runs"
    outside.mkdir(parents=True)
    assert headline.main(["headline", "--fresh", "--out", str(tmp_path / "precious")]) == 2
    assert "only deletes inside" in capsys.readouterr().err
    assert outside.exists()
    for name in ("../../tmp", "../results", "headline/../../x"):
        assert headline.main([name, "--fresh"]) == 2
    assert headline.main(["headline", "--results", "run.replicates=2"]) == 2
    assert "takes no overrides" in capsys.readouterr().err


def test_a_run_with_overrides_touches_no_tracked_file():
    def status() -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
        )
        return done.stdout

    before = status()
    overrides = ["run.replicates=2", "run.years=1", "run.burn_in_years=1", "run.start_year=2020"]
    overrides += ["population.n_researchers=200", "population.n_institutions=10"]
    out = ROOT / headline.output_dir("scenarios", overrides)
    try:
        done = cli("scenarios", *overrides, module="experiments.headline")
        assert done.returncode == 0, done.stderr
        assert f"report written to {out.relative_to(ROOT) / 'report.md'}" in done.stdout
        assert (out / "report.md").is_file()
        assert status() == before
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --- progress ----------------------------------------------------------------------------------


def test_off_a_terminal_a_sweep_prints_one_readable_line_per_job(sweep_dir):
    import io as text_io

    from experiments.engine.progress import SweepProgress

    jobs = []
    for num, value in enumerate(("0", "1")):
        record = json.loads((sweep_dir / str(num) / PROVENANCE).read_text())
        overrides = [f"oversight.intensity={value}", *SMALL]
        jobs.append(preflight.PlannedJob(overrides, record["config_hash"], sweep_dir / str(num)))
        jobs[-1].replicates = 2
    kept = (sweep_dir / "1" / PROVENANCE).read_bytes()
    (sweep_dir / "1" / PROVENANCE).unlink()
    (sweep_dir / "1" / ".progress").write_text("1")
    stream = text_io.StringIO()
    progress = SweepProgress(jobs, stream)
    assert stream.getvalue() == "1 of 2 jobs already complete: resuming\n"
    progress.poll()
    assert progress.count == 3  # 2 of the finished job, 1 of the running one
    (sweep_dir / "1" / PROVENANCE).write_bytes(kept)
    progress.close()
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("job 2/2 done in ")
    assert "(oversight.intensity=1); sweep: 2/2 jobs, 4/4 replicates, " in last


def test_on_a_terminal_a_sweep_shows_one_bar_of_replicates_and_jobs(sweep_dir):
    import io as text_io

    from experiments.engine.progress import SweepProgress

    class Terminal(text_io.StringIO):
        def isatty(self):
            return True

    record = json.loads((sweep_dir / "0" / PROVENANCE).read_text())
    done = preflight.PlannedJob([], record["config_hash"], sweep_dir / "0", True, 2)
    running = preflight.PlannedJob([], "not yet", sweep_dir / "1", True, 2)
    (sweep_dir / "1" / ".progress").write_text("1")
    stream = Terminal()
    progress = SweepProgress([done, running], stream)
    progress.close()
    assert "sweep:  75%" in stream.getvalue() and "3/4" in stream.getvalue()
    assert stream.getvalue().rstrip().endswith("jobs 1/2]")
