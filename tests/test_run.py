"""Real runs: job outputs, identical numbers across launchers and workers, resume, checkpoints."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from experiments.engine import job, preflight, replicates, schema, store
from experiments.engine.checkpoint import PARTIAL_DIR
from experiments.engine.replicates import Checkpoint, replicate_seed
from sim import STEP_METRICS, ResearchModel
from tests.batches import run_batch

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "run.replicates=2",
    "run.years=2",
    "run.burn_in_years=1",
    "population.n_researchers=200",
    "population.n_institutions=10",
]
GRID = ["incentives.publication_weight=0.2,0.9", "oversight.intensity=0,1"]
OUTPUTS = ("replicates.csv", "timeseries.csv", "provenance.json")


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "experiments.run", *arguments]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def sweep(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("-m", *GRID, *SMALL, f"hydra.sweep.dir={out}", *extra)


def tables(job_dir: Path) -> tuple[bytes, bytes]:
    return (job_dir / "replicates.csv").read_bytes(), (job_dir / "timeseries.csv").read_bytes()


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("basic") / "sweep"
    sweep(out)
    return out


def test_each_job_writes_replicates_timeseries_and_provenance(basic_sweep):
    assert sorted(p.name for p in basic_sweep.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    rows = pd.read_csv(basic_sweep / "0" / "replicates.csv")
    assert list(rows.columns[:2]) == ["replicate", "seed"]
    assert set(schema.main_levers()) <= set(rows.columns)
    model = ResearchModel(seed=1, n_researchers=200, n_institutions=10, years=2).run()
    assert list(rows.columns) == ["replicate", "seed", *schema.main_levers(), *model.run_metrics()]
    assert rows["replicate"].tolist() == [0, 1]
    series = pd.read_csv(basic_sweep / "0" / "timeseries.csv")
    assert list(series.columns) == ["replicate", "seed", "step", *STEP_METRICS]
    assert len(series) == 2 * 8
    record = json.loads((basic_sweep / "0" / "provenance.json").read_text())
    assert record["status"] == "complete"
    assert record["seeds"] == rows["seed"].tolist()
    assert record["config"]["population"]["n_researchers"] == 200
    assert "incentives.publication_weight=0.2" in record["overrides"]
    assert record["environment"]["packages"]["mesa"]
    assert record["environment"]["python"].count(".") == 2
    assert {"commit", "dirty"} <= set(record["environment"]["git"])
    assert record["timing"]["seconds"] > 0


def test_replicates_match_a_bare_model_run_with_the_same_seed(basic_sweep):
    rows = pd.read_csv(basic_sweep / "3" / "replicates.csv")
    seed = int(rows["seed"][1])
    model = ResearchModel(
        seed=seed,
        n_researchers=200,
        n_institutions=10,
        years=2,
        burn_in_years=1,
        publication_weight=0.9,
        intensity=1.0,
    ).run()
    assert rows["breakthrough_rate"][1] == model.run_metrics()["breakthrough_rate"]


def test_arms_share_seeds_and_seeds_depend_on_run_seed_only(basic_sweep):
    seeds = [pd.read_csv(basic_sweep / j / "replicates.csv")["seed"].tolist() for j in "0123"]
    assert all(s == seeds[0] for s in seeds)
    assert seeds[0] == [replicate_seed(0, 0), replicate_seed(0, 1)]
    assert replicate_seed(0, 1) != replicate_seed(1, 1)
    assert len({replicate_seed(0, i) for i in range(1000)}) == 1000


def test_joblib_launcher_gives_the_same_numbers(basic_sweep, tmp_path):
    sweep(tmp_path / "joblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    for j in "0123":
        assert tables(tmp_path / "joblib" / j) == tables(basic_sweep / j)


def test_submitit_local_launcher_gives_the_same_numbers(basic_sweep, tmp_path):
    out = tmp_path / "submitit"
    run_cli(
        "-m",
        "incentives.publication_weight=0.9",
        "oversight.intensity=0,1",
        *SMALL,
        f"hydra.sweep.dir={out}",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
    )
    assert tables(out / "0") == tables(basic_sweep / "2")
    assert tables(out / "1") == tables(basic_sweep / "3")


def test_ray_launcher_gives_the_same_numbers(basic_sweep, tmp_path, ray_cluster):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")
    out = tmp_path / "ray"
    address, env = ray_cluster  # a cluster of this test's own, joined as on a real cluster
    command = [sys.executable, "-m", "experiments.run", "-m", *GRID, *SMALL]
    command += [f"hydra.sweep.dir={out}", "hydra/launcher=ray_cluster"]
    command.append(f"hydra.launcher.ray.init.address={address}")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    for j in "0123":
        assert tables(out / j) == tables(basic_sweep / j)


def test_worker_processes_give_the_same_numbers(tmp_path):
    arguments = [
        "run.replicates=3",
        "run.years=2",
        "run.burn_in_years=1",
        "population.n_researchers=200",
    ]
    run_cli(*arguments, "run.workers=1", f"hydra.run.dir={tmp_path / 'serial'}")
    run_cli(*arguments, "run.workers=3", f"hydra.run.dir={tmp_path / 'parallel'}")
    assert tables(tmp_path / "serial") == tables(tmp_path / "parallel")


def test_rerun_skips_complete_jobs_and_redoes_only_the_broken_one(basic_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(basic_sweep, out)
    before = {(j, n): (out / j / n).stat().st_mtime_ns for j in "0123" for n in OUTPUTS}
    done = sweep(out)
    assert done.stdout.count("skipped") == 4
    assert before == {(j, n): (out / j / n).stat().st_mtime_ns for j in "0123" for n in OUTPUTS}

    original = tables(out / "1")
    (out / "1" / "replicates.csv").unlink()
    done = sweep(out)
    assert done.stdout.count("skipped") == 3
    for j in "023":
        for name in OUTPUTS:
            assert (out / j / name).stat().st_mtime_ns == before[j, name]
    assert tables(out / "1") == original


def test_a_folder_holding_another_configs_results_is_refused_before_running(basic_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(basic_sweep, out)
    command = [sys.executable, "-m", "experiments.run", "-m", *GRID, *SMALL]
    command += ["run.seed=7", f"hydra.sweep.dir={out}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "holds finished results of a different config" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_preflight_predicts_each_jobs_config_hash(basic_sweep):
    schema.register()
    planned = preflight.check(["-m", *GRID, *SMALL, f"hydra.sweep.dir={basic_sweep}"])
    recorded = [
        json.loads((basic_sweep / j / "provenance.json").read_text())["config_hash"] for j in "0123"
    ]
    assert [p.config_hash for p in planned] == recorded


@pytest.fixture
def small_params():
    schema.register()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("config", overrides=SMALL)
    return schema.to_params(cfg)[0]


def test_an_interrupted_batch_keeps_finished_replicates_and_redoes_only_the_rest(
    tmp_path, small_params, monkeypatch
):
    seeds = [replicate_seed(0, i) for i in range(3)]
    whole = run_batch(small_params, seeds, 1, Checkpoint(tmp_path / "whole", "h", 30.0), {})

    real, calls = replicates.run_replicate, []

    def fails_on_the_last(params, i, seed):
        calls.append(i)
        if i == 2:
            raise KeyboardInterrupt
        return real(params, i, seed)

    monkeypatch.setattr(replicates, "run_replicate", fails_on_the_last)
    checkpoint = Checkpoint(tmp_path / "job", "h", 30.0)
    with pytest.raises(KeyboardInterrupt):
        run_batch(small_params, seeds, 1, checkpoint, {})
    saved = Checkpoint(tmp_path / "job", "h", 30.0).load(3)
    assert sorted(saved) == [0, 1]
    assert Checkpoint(tmp_path / "job", "another config", 30.0).load(3) == {}
    assert not (tmp_path / "job" / PARTIAL_DIR).exists()  # never mixed with others

    def counted(params, i, seed):
        calls.append(i)
        return real(params, i, seed)

    monkeypatch.setattr(replicates, "run_replicate", counted)
    calls.clear()
    resumed = run_batch(small_params, seeds, 1, Checkpoint(tmp_path / "job", "h", 30.0), saved)
    assert calls == [2]
    for i in range(3):
        metrics = {k: v for k, v in resumed[i][0].items() if k != "seconds"}
        assert metrics == {k: v for k, v in whole[i][0].items() if k != "seconds"}
        pd.testing.assert_frame_equal(resumed[i][1], whole[i][1], check_dtype=False)


def test_a_failing_job_records_its_error(tmp_path, small_params, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(job, "run_tasks", broken)
    schema.register()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("config", overrides=SMALL)
    with pytest.raises(RuntimeError):
        job.run_job(cfg, job.JobContext(output_dir=tmp_path))
    failure = json.loads((tmp_path / store.FAILURE).read_text())
    assert failure["error"] == "RuntimeError: the model broke"
    assert not (tmp_path / store.PROVENANCE).exists()


def test_a_job_stopped_by_sigterm_keeps_its_finished_replicates_for_the_rerun(tmp_path):
    n = 300
    arguments = [
        f"run.replicates={n}",
        "run.years=2",
        "run.burn_in_years=1",
        "population.n_researchers=200",
    ]
    command = [sys.executable, "-m", "experiments.run", *arguments, f"hydra.run.dir={tmp_path}"]
    command.append("run.checkpoint_seconds=0")  # save each replicate: see the job's progress
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".partial/replicates-*.csv")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)  # what SLURM sends at a time limit
    assert process.wait(timeout=60) == 128 + signal.SIGTERM, "the job ended before the signal"
    assert "SystemExit" in json.loads((tmp_path / store.FAILURE).read_text())["error"]
    assert not (tmp_path / "replicates.csv").exists()

    # The rerun may save less often and use more processes: the config hash is the same.
    done = run_cli(*arguments, "run.workers=2", f"hydra.run.dir={tmp_path}")
    reused = int(done.stdout.split("reusing ")[1].split()[0])
    assert 0 < reused < n
    rows = pd.read_csv(tmp_path / "replicates.csv")
    assert rows["replicate"].tolist() == list(range(n))
    assert not (tmp_path / ".partial").exists() and not (tmp_path / store.FAILURE).exists()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        params = schema.to_params(compose("config", overrides=arguments))[0]
    for i in (0, n - 1):  # one reused, one run after the restart
        metrics, _ = replicates.run_replicate(params, i, replicate_seed(0, i))
        assert rows.iloc[i]["breakthrough_rate"] == metrics["breakthrough_rate"]


def test_regenerated_results_do_not_mark_the_code_dirty(tmp_path, monkeypatch):
    from experiments.engine import io

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "report.md").write_text("old")
    (tmp_path / "model.py").write_text("x = 1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    monkeypatch.setattr(io, "CODE_DIR", tmp_path)
    io.git_state.cache_clear()
    (tmp_path / "results" / "report.md").write_text("new")
    assert io.git_state()["dirty"] is False
    io.git_state.cache_clear()
    (tmp_path / "model.py").write_text("x = 2")
    assert io.git_state()["dirty"] is True
    io.git_state.cache_clear()
