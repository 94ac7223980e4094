"""Nothing lost, nothing written outside (issue 24): --fresh that deleted before checking, a
calibration folder overwritten by another config, aggregation of folders that are not the
sweep's jobs, a resume key blind to the experiments layer and chunks of another job, an
experiment override that ran another experiment, and shuffled sweeps that could never resume."""

import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
import test_faults
import yaml
from test_faults import GRID, ROOT, SMALL, cli, one_line_error

from experiments.engine import design_job, io, lock, preflight
from experiments.engine.checkpoint import PARTIAL_DIR
from experiments.engine.errors import BadInput
from experiments.engine.replicates import Checkpoint, replicate_seed, run_replicate
from experiments.engine.runner import run_tasks
from experiments.engine.store import PROVENANCE
from experiments.studies.calibration import calibrate
from experiments.studies.sensitivity import sensitivity
from experiments.studies.sensitivity.analysis import SensitivityError
from experiments.studies.sensitivity.analysis import load as load_design
from experiments.studies.sweep import headline
from experiments.studies.sweep.aggregate import AggregateError, aggregate

finished_sweep = test_faults.finished_sweep  # fixtures: a finished sweep, a copy to damage
sweep_dir = test_faults.sweep_dir
small_params = test_faults.small_params

# --- --fresh deletes only what it should, and only once the command is known good ---------------


@pytest.fixture
def project_runs():
    """A `runs` folder with a file in it, inside the project's own `outputs/`."""
    out = ROOT / "outputs" / f"fresh-{uuid.uuid4().hex[:8]}"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "kept.txt").write_text("finished work")
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_sensitivity_fresh_deletes_nothing_before_the_experiment_and_overrides_are_checked(
    tmp_path, project_runs, capsys
):
    outside = tmp_path / "precious"
    (outside / "runs").mkdir(parents=True)
    assert sensitivity.main(["run", "nope", "--fresh", "--out", str(outside)]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert sensitivity.main(["run", "screening", "--fresh", "--out", str(outside)]) == 2
    assert "only deletes inside" in capsys.readouterr().err
    assert (outside / "runs").is_dir()
    for bad in ("run.replicates=0", "experiment=headline"):
        assert (
            sensitivity.main(["run", "screening", "--fresh", "--out", str(project_runs), bad]) == 2
        )
        assert bad.partition("=")[0] in capsys.readouterr().err
        assert (project_runs / "runs" / "kept.txt").is_file()


def test_sensitivity_run_writes_a_relative_out_where_the_user_is(tmp_path, monkeypatch):
    """The design ran into the project's folder of that name, and the analysis then looked
    for it (and failed) where the user was."""
    monkeypatch.chdir(tmp_path)
    name = f"design-{uuid.uuid4().hex[:8]}"
    design = ["uncertainty=ishigami", "uncertainty.method=morris", "uncertainty.samples=4"]
    try:
        arguments = ["run", "screening", *design, "uncertainty.jobs=1", "run.replicates=1"]
        assert sensitivity.main([*arguments, "--out", name]) == 0
    finally:
        written_outside = (ROOT / name).exists()
        shutil.rmtree(ROOT / name, ignore_errors=True)
    assert not written_outside
    assert (tmp_path / name / "runs" / "0" / PROVENANCE).is_file()
    assert (tmp_path / name / "report.md").is_file()


def test_headline_fresh_deletes_nothing_when_an_override_is_bad(project_runs, capsys):
    assert headline.main(["headline", "--fresh", "--out", str(project_runs), "run.seed=-1"]) == 2
    assert "run.seed" in capsys.readouterr().err
    assert (project_runs / "runs" / "kept.txt").is_file()


# --- a calibration folder belongs to one config ----------------------------------------------

TINY_CALIBRATION = [
    "calibration=quick",
    "population=3",
    "generations=1",
    "pilot_points=2",
    "replicates=2",
    "confirm_points=0",
    "validation_replicates=2",
    "base.population.n_researchers=100",
    "workers=1",
]


def test_another_calibration_config_gets_its_own_folder_or_is_refused(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert calibrate.main(TINY_CALIBRATION) == 0
    assert calibrate.main([*TINY_CALIBRATION, "population=4"]) == 0
    folders = sorted((tmp_path / "outputs" / "calibration").iterdir())
    assert len(folders) == 2  # was one: the second overwrote the first
    records = [io.read_json(f / "provenance.json") for f in folders]
    assert {r["config"]["population"] for r in records} == {3, 4}
    first = next(f for f, r in zip(folders, records, strict=True) if r["config"]["population"] == 3)
    kept = (first / "provenance.json").read_bytes()
    capsys.readouterr()
    assert calibrate.main([*TINY_CALIBRATION, "population=4", "--out", str(first)]) == 2
    assert "another calibration config" in capsys.readouterr().err
    assert (first / "provenance.json").read_bytes() == kept
    assert calibrate.main([*TINY_CALIBRATION, "workers=2", "--out", str(first)]) == 0  # resumes
    assert (first / "provenance.json").read_bytes() == kept
    # the partial work of another config is not discarded either
    partial = tmp_path / "partial" / PARTIAL_DIR
    partial.mkdir(parents=True)
    (partial / "config_hash").write_text("another config")
    (partial / "points-x.csv").write_text("point\n0\n")
    assert calibrate.main([*TINY_CALIBRATION, "--out", str(partial.parent)]) == 2
    assert (partial / "points-x.csv").is_file()


# --- aggregate takes in only the sweep's own jobs ---------------------------------------------


def set_in_provenance(job: Path, key: str, value) -> None:
    record = json.loads((job / PROVENANCE).read_text())
    group, name = key.split(".")
    record["config"][group][name] = value
    (job / PROVENANCE).write_text(json.dumps(record))


def test_job_folders_below_the_sweeps_jobs_are_left_out_and_named(sweep_dir):
    shutil.copytree(sweep_dir / "1", sweep_dir / "scratch" / "try1")  # a stray scratch run
    set_in_provenance(sweep_dir / "scratch" / "try1", "incentives.publication_weight", 0.9)
    shutil.copytree(sweep_dir / "1", sweep_dir / "0" / "0")  # a second sweep into job 0
    sweep = aggregate(sweep_dir, write=False)
    assert sweep.levers == ["oversight.intensity"]  # was: a false lever, and 4 more replicates
    assert len(sweep.replicates) == 4
    assert sweep.ignored == ["0/0", "scratch/try1"]
    done = cli(str(sweep_dir), module="experiments.aggregate")
    assert "ignored: scratch/try1" in done.stdout


def test_a_folder_of_sweeps_is_not_joined_into_one(sweep_dir, tmp_path):
    for name in ("a", "b"):
        shutil.copytree(sweep_dir, tmp_path / "sweeps" / name)
    with pytest.raises(AggregateError, match="only deeper down \\(a/0, a/1, b/0"):
        aggregate(tmp_path / "sweeps")  # was: both sweeps' jobs as one, each arm twice
    assert not (tmp_path / "sweeps" / "sweep.csv").exists()


def test_a_job_another_command_ran_is_refused(sweep_dir):
    shutil.copytree(sweep_dir / "1", sweep_dir / "2")  # job 1 copied as job 2
    with pytest.raises(AggregateError, match="2 \\(job 1, renamed\\)"):
        aggregate(sweep_dir, write=False)
    hydra_yaml = sweep_dir / "2" / ".hydra" / "hydra.yaml"
    record = yaml.safe_load(hydra_yaml.read_text())
    record["hydra"]["sweep"]["dir"] = "another/sweep"
    hydra_yaml.write_text(yaml.safe_dump(record))
    with pytest.raises(AggregateError, match="2 \\(job 1 of a sweep into another/sweep\\)"):
        aggregate(sweep_dir, write=False)  # a job of another sweep copied in
    shutil.rmtree(sweep_dir / "2")
    shutil.copytree(sweep_dir / "1", sweep_dir / "extra")  # a single run into the sweep folder
    hydra_yaml = sweep_dir / "extra" / ".hydra" / "hydra.yaml"
    hydra_yaml.write_text(hydra_yaml.read_text().replace("mode: MULTIRUN", "mode: RUN"))
    line = one_line_error(cli(str(sweep_dir), module="experiments.report"))
    assert "extra (a single run)" in line
    # a job of the sweep redone alone in its own folder is still the sweep's
    shutil.move(sweep_dir / "extra" / ".hydra", sweep_dir / "1" / ".hydra")
    shutil.rmtree(sweep_dir / "extra")
    overrides = sweep_dir / "1" / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text() + "- run.resume=false\n")
    assert len(aggregate(sweep_dir, write=False).replicates) == 4


def test_a_sweep_into_a_job_folder_of_a_running_sweep_is_refused(sweep_dir):
    with lock.hold(sweep_dir):
        line = one_line_error(cli("-m", *GRID, *SMALL, f"hydra.sweep.dir={sweep_dir / '0'}"))
    assert f"{sweep_dir} is in use by process" in line
    assert not (sweep_dir / "0" / "0").exists()


# --- the resume key: all the code, and chunks tied to their job ---------------------------------


def test_the_code_version_covers_the_experiments_layer(tmp_path, monkeypatch):
    for package in ("sim", "experiments"):
        shutil.copytree(ROOT / package, tmp_path / package)
    monkeypatch.setattr(io, "CODE_DIR", tmp_path)
    before = io.code_version.__wrapped__()
    with open(tmp_path / "experiments" / "replicates.py", "a") as f:
        f.write("\n# seeds derived differently\n")
    assert io.code_version.__wrapped__() != before


def test_checkpoint_chunks_of_another_job_are_refused(tmp_path, small_params, caplog):
    for job, root in (("job0", 0), ("job1", 1)):
        seeds = [replicate_seed(root, i) for i in range(3)]
        tasks = {i: (small_params, i, seed) for i, seed in enumerate(seeds)}
        run_tasks(run_replicate, tasks, 1, checkpoint=Checkpoint(tmp_path / job, f"key{root}", 0.0))
    mine, theirs = (tmp_path / job / PARTIAL_DIR for job in ("job0", "job1"))
    for path in mine.glob("*-0000002-*"):
        path.unlink()
    for path in theirs.glob("*-0000002-*"):  # job 1's replicate 2, copied into job 0
        shutil.copy(path, mine / path.name)
    saved = Checkpoint(tmp_path / "job0", "key0", 0.0).load(3)
    assert sorted(saved) == [0, 1]
    assert "another config or code" in caplog.text


def test_a_damaged_design_checkpoint_is_discarded_not_a_crash(tmp_path):
    (tmp_path / "a" / PARTIAL_DIR).mkdir(parents=True)
    (tmp_path / "a" / PARTIAL_DIR / "config_hash").write_bytes(b"\xff\xfe garbage")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / PARTIAL_DIR).write_text("a file where the folder should be")
    for job in ("a", "b"):
        checkpoint = design_job.PointCheckpoint(tmp_path / job, "key", 0.0)
        assert checkpoint.load() == {}
        checkpoint.add([{"point": 3, "y": 1.0}])
        assert sorted(design_job.PointCheckpoint(tmp_path / job, "key", 0.0).load()) == [3]


def test_design_point_chunks_of_another_job_are_refused(tmp_path):
    for job in ("a", "b"):
        checkpoint = design_job.PointCheckpoint(tmp_path / job, f"key {job}", 0.0)
        checkpoint.add([{"point": 0 if job == "a" else 1, "y": 1.0}])
    for path in (tmp_path / "b" / PARTIAL_DIR).glob("points-*.csv"):
        shutil.copy(path, tmp_path / "a" / PARTIAL_DIR / path.name)
    assert sorted(design_job.PointCheckpoint(tmp_path / "a", "key a", 0.0).load()) == [0]


ISHIGAMI = [
    "uncertainty=ishigami",
    "uncertainty.method=morris",
    "uncertainty.samples=4",
    "uncertainty.jobs=2",
    "uncertainty.job=range(0,2)",
    "run.replicates=1",
]


def test_a_finished_design_is_analysed_after_a_code_change_but_never_mixed(tmp_path, monkeypatch):
    out = tmp_path / "design"
    assert cli("-m", *ISHIGAMI, f"hydra.sweep.dir={out}").returncode == 0
    monkeypatch.setattr(io, "code_version", lambda: "the code of now")
    assert len(load_design(out).runs) > 0
    record = json.loads((out / "1" / PROVENANCE).read_text())
    record["environment"]["code_version"] = "older code"
    (out / "1" / PROVENANCE).write_text(json.dumps(record))
    with pytest.raises(SensitivityError, match="2 versions of the code"):
        load_design(out)


# --- the experiment is the one named ------------------------------------------------------------


def test_an_override_choosing_another_experiment_is_refused(tmp_path, capsys):
    arguments = headline.parse(["export_shock", "experiment=incentive_presets"])
    with pytest.raises(headline.UsageError, match="conflicts with the experiment export_shock"):
        headline.destination(arguments)
    assert headline.destination(headline.parse(["export_shock", "experiment=export_shock"]))
    assert sensitivity.main(["run", "screening", "--out", str(tmp_path), "experiment=x"]) == 2
    assert "conflicts with the experiment screening" in capsys.readouterr().err


def test_an_experiments_sweep_without_m_is_refused_unless_each_swept_key_is_set():
    with pytest.raises(BadInput, match="export_controls.enabled, .*add -m"):
        preflight.prepare(["experiment=export_shock"])
    one_arm = ["export_controls.enabled=true", "export_controls.self_reliance_funding=1"]
    assert len(preflight.prepare(["experiment=export_shock", *one_arm]).jobs) == 1


# --- shuffled sweeps ------------------------------------------------------------------------


def test_a_shuffled_sweep_has_one_order_on_every_run_and_resumes(tmp_path):
    shuffled = "oversight.intensity=shuffle(0,0.25,0.5,1)"
    plans = [preflight.prepare(["-m", shuffled, f"hydra.sweep.dir={tmp_path}"]) for _ in range(3)]
    orders = [[job.overrides[0] for job in plan.jobs] for plan in plans]
    assert orders[0] == orders[1] == orders[2]
    assert plans[0].pinned == [
        f"oversight.intensity={','.join(o.split('=')[1] for o in orders[0])}"
    ]
    out = tmp_path / "sweep"
    first = cli("-m", shuffled, *SMALL, f"hydra.sweep.dir={out}")
    assert first.returncode == 0, first.stderr
    again = cli("-m", shuffled, *SMALL, f"hydra.sweep.dir={out}")
    assert again.returncode == 0, again.stderr  # was: refused, job 0 held another config
    assert again.stdout.count("skipped") == 4
    intensity = {
        job: io.read_json(out / str(job) / PROVENANCE)["config"]["oversight"]["intensity"]
        for job in range(4)
    }
    assert [f"oversight.intensity={intensity[j]:g}" for j in range(4)] == orders[0]
    assert len(pd.read_csv(out / "0" / "replicates.csv")) == 2
