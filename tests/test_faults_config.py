"""Bad config of issue 24: whatever Hydra would write lands, once resolved, in an output folder and
never on the project's files; config sets no environment and imports no code; config files that
would hang or garble the check are named; commands that run the runner say how to go on.
Each bad input is refused before anything runs, with one line and exit status 2."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_faults import ROOT, SMALL, cli, finished_sweep, one_line_error, sweep_dir  # noqa: F401

from experiments.engine import preflight, schema
from experiments.engine.errors import BadInput
from experiments.studies.sweep import run


def refused(arguments: list[str]) -> str:
    schema.register()
    with pytest.raises(BadInput) as caught:
        preflight.check(arguments)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def git_status() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def configs(tmp_path, monkeypatch) -> Path:
    """A copy of the project's configs/ that the check reads instead."""
    copy = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", copy)
    monkeypatch.setattr(preflight, "CONFIG_DIR", copy)
    return copy


# --- 3, 4: every folder and file Hydra writes, resolved ----------------------------------------


def test_a_run_into_the_config_folder_is_refused_and_overwrites_nothing():
    before = git_status()
    line = one_line_error(cli(*SMALL, "hydra.run.dir=configs", "hydra.output_subdir=."))
    assert "hydra.run.dir = 'configs'" in line and "outputs/, multirun/" in line
    assert git_status() == before  # configs/config.yaml was overwritten, and stray files left


@pytest.mark.parametrize(
    "folder", ["configs", ".", "", "results/calibration", "sim", "outputs/../experiments"]
)
def test_a_folder_on_the_projects_files_is_refused(folder, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert "hydra.run.dir" in refused([f"hydra.run.dir={folder}"])
    assert "hydra.sweep.dir" in refused(["-m", f"hydra.sweep.dir={folder}"])


def test_output_folders_inside_the_project_are_allowed(monkeypatch):
    monkeypatch.chdir(ROOT)
    for folder in ("outputs/x", "multirun/x", "results/headline/runs"):
        assert preflight.check([f"hydra.run.dir={folder}"])


def test_an_experiment_file_writing_into_the_configs_is_refused(configs, monkeypatch):
    monkeypatch.chdir(ROOT)
    (configs / "experiment" / "evil.yaml").write_text(
        "# @package _global_\nhydra:\n  run:\n    dir: configs\n  output_subdir: .\n"
        "  sweep:\n    dir: configs\n"
    )
    assert "hydra.run.dir = 'configs'" in refused(["experiment=evil"])
    assert "hydra.sweep.dir = 'configs'" in refused(["-m", "experiment=evil"])


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        (["hydra.job.name=../../x"], "hydra.job.name"),
        (["hydra.output_subdir=${oc.env:HOME}"], "hydra.output_subdir = '/"),
        (["hydra.output_subdir=${oc.env:CLIMB}"], "hydra.output_subdir = '../../c'"),
        (
            [
                "hydra.job_logging.handlers.file.filename=${hydra.runtime.output_dir}/${oc.env:CLIMB}"
            ],
            "/../../c': log files must stay in the job folder",
        ),
        (["-m", "hydra.sweep.subdir=${oc.env:CLIMB}"], "hydra.sweep.subdir = '../../c'"),
        (["hydra.run.dir=${oc.env:CLIMB}"], "hydra.run.dir = '../../c' climbs out"),
        (["-m", "hydra.sweep.dir=${oc.env:CLIMB}"], "hydra.sweep.dir = '../../c' climbs out"),
        (["hydra.run.dir="], "hydra.run.dir is empty"),
        (["-m", "hydra.sweep.dir=' '"], "hydra.sweep.dir is empty"),
        (["-m", "hydra.sweep.subdir="], "hydra.sweep.subdir = ''"),
        (["-m", "hydra.sweep.subdir=."], "hydra.sweep.subdir = '.'"),
        (["-m", "oversight.intensity=0,1", "hydra.sweep.subdir=same"], "several jobs"),
        (["hydra.run.dir=outputs/${oversight.intensity}"], "cannot be resolved before the run"),
        (["hydra.run.dir=outputs/${hydra.job.id}"], "cannot be resolved before the run"),
        (
            ["+hydra.hydra_logging.handlers.f.filename=${hydra.runtime.output_dir}/x.log"],
            "Hydra's own log",
        ),
        (["+hydra.job_logging.handlers.f.class=logging.FileHandler"], "needs a filename"),
        # more of the same kind, each silently wrong or a traceback before
        (["hydra.output_subdir=null"], "hydra.output_subdir = None"),  # "never started" jobs
        (["hydra.output_subdir=replicates.csv"], "only .hydra"),  # the job crashed
        (["hydra.run.dir='~/x'"], "~ is not expanded"),  # a folder named ~
        (["hydra.run.dir=~/x"], "unexpected '~' at character 15"),  # a caret, no reason
        (["+hydra.job_logging.root.handlers=[nope]"], "names handler 'nope'"),
        (["hydra.job_logging.version=2"], "hydra.job_logging.version = 2"),
        (["hydra.job_logging.handlers.console.formatter=fancy"], "formatter = 'fancy'"),
    ],
)
def test_paths_are_checked_once_resolved(arguments, key, monkeypatch):
    monkeypatch.setenv("CLIMB", "../../c")
    assert key in refused(arguments)


def test_a_link_into_the_project_is_followed(tmp_path):
    (tmp_path / "link").symlink_to(ROOT / "configs")
    assert "lies in the project" in refused([f"hydra.run.dir={tmp_path / 'link'}"])


def test_sweep_flags_between_overrides_reach_hydra_in_order(tmp_path):
    done = cli("-m", *SMALL, "-m", f"hydra.sweep.dir={tmp_path}", "--multirun")
    assert done.returncode == 0, done.stderr[-2000:]  # was Hydra's usage and exit status 2
    assert (tmp_path / "0" / "replicates.csv").is_file()


def test_a_job_name_that_climbs_writes_no_log_outside(tmp_path):
    job = tmp_path / "a" / "b" / "job"
    line = one_line_error(cli(*SMALL, "hydra.job.name=../../x", f"hydra.run.dir={job}"))
    assert "hydra.job.name = '../../x'" in line
    assert not (tmp_path / "a" / "x.log").exists() and not job.exists()


def test_folders_named_after_the_overrides_are_planned_where_hydra_writes(tmp_path):
    prepared = preflight.prepare(
        ["-m", "oversight.intensity=0,1", f"hydra.sweep.dir={tmp_path}"]
        + ["hydra.sweep.subdir=${hydra.job.override_dirname}"]
    )
    assert [job.folder.name for job in prepared.jobs] == [
        "oversight.intensity=0",
        "oversight.intensity=1",
    ]


# --- 5: no environment, code or network from config --------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        (
            ["hydra/launcher=ray", "+hydra.launcher.ray.remote.runtime_env.env_vars.PYTHONPATH=x"],
            "hydra.launcher.ray.remote.runtime_env",
        ),
        (
            ["hydra/launcher=ray_cluster", "+hydra.launcher.ray.init.runtime_env.working_dir=x"],
            "hydra.launcher.ray.init.runtime_env",
        ),
        (["hydra/launcher=ray", "+hydra.launcher.ray.init._temp_dir=x"], "init._temp_dir"),
        (["hydra/launcher=ray", "+hydra.launcher.ray.init.dashboard_host=0.0.0.0"], "dashboard"),
        (["hydra/launcher=ray", "+hydra.launcher.ray.remote.scheduling_strategy=x"], "remote."),
        (["hydra/launcher=ray_aws"], "hydra.launcher._target_"),
        (["hydra/launcher=joblib", "hydra.launcher.backend=dask"], "hydra.launcher.backend"),
        (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs = 0"),
        (["hydra/launcher=joblib", "hydra.launcher.temp_folder=/x"], "temp_folder"),
        (["hydra/launcher=slurm", "hydra.launcher.submitit_folder=/x/%j"], "submitit_folder"),
        (
            ["hydra/launcher=slurm", "+hydra.launcher.additional_parameters.export=NONE"],
            "additional_parameters.export",
        ),
        (["+hydra.job.env_copy=[HOME]"], "hydra.job.env_copy"),
        (["hydra.sweeper._target_=hydra_plugins.x.Sweeper"], "hydra.sweeper._target_"),
        (
            ["+hydra.job_logging.handlers.x.class=logging.handlers.SocketHandler"],
            "logging.handlers.SocketHandler",
        ),
        (["+hydra.job_logging.handlers.x.class=logging.handlers.HTTPHandler"], "HTTPHandler"),
        (["hydra.job_logging.handlers.console.stream=ext://os.system"], "ext://os.system"),
        (["hydra.searchpath=[file:///tmp]"], "hydra.searchpath"),
    ],
)
def test_settings_that_set_up_the_jobs_or_run_code_are_refused(arguments, key):
    assert key in refused(["-m", *arguments])


def test_the_calibrations_jobs_get_no_callback_either(tmp_path):
    touched = tmp_path / "touched"
    arguments = ["calibration=quick", "jobs=2", "+hydra.callbacks.x._target_=pathlib.Path.touch"]
    arguments += [f"+hydra.callbacks.x.self={touched}", "--out", str(tmp_path / "out")]
    line = one_line_error(cli(*arguments, module="experiments.calibrate"))
    assert "hydra.callbacks.x" in line
    assert not touched.exists() and not (tmp_path / "out").exists()


def test_the_projects_own_config_folder_may_be_on_the_search_path():
    assert preflight.check([f"hydra.searchpath=[file://{ROOT / 'configs'}]"])


def test_a_package_on_the_search_path_is_never_imported(tmp_path):
    package = tmp_path / "evilpkg"
    package.mkdir()
    touched = tmp_path / "imported"
    (package / "__init__.py").write_text(f"open({str(touched)!r}, 'w').close()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    done = cli(*SMALL, "hydra.searchpath=[pkg://evilpkg]", f"hydra.run.dir={tmp_path}", env=env)
    assert "pkg://evilpkg" in one_line_error(done)
    assert not touched.exists()


def test_a_local_ray_cluster_gets_a_token_that_is_never_written(tmp_path, monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert preflight.prepare(["-m", "hydra/launcher=ray"]).local_ray
    assert not preflight.prepare(["-m", "hydra/launcher=ray_cluster"]).local_ray
    run.private_ray_token()
    assert len(os.environ["RAY_AUTH_TOKEN"]) == 64
    assert not (tmp_path / ".ray").exists()


def test_a_sweep_on_a_local_ray_cluster_leaves_no_readable_token(tmp_path):
    pytest.importorskip("ray")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(tmp_path / "home"), RAY_USAGE_STATS_ENABLED="0")
    (tmp_path / "home").mkdir()
    arguments = ["-m", *SMALL, "run.replicates=1", "hydra/launcher=ray"]
    arguments += [
        "+hydra.launcher.ray.init.num_cpus=1",
        "+hydra.launcher.ray.init.include_dashboard=false",
    ]
    done = cli(*arguments, f"hydra.sweep.dir={tmp_path / 'sweep'}", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    token = tmp_path / "home" / ".ray" / "auth_token"
    assert not token.exists() or not token.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH)


# --- 15, 17: config files that would hang or garble the check ----------------------------------


def alias_bomb(levels: int) -> str:
    lines = ["# @package _global_", 'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_naming_its_file(configs):
    (configs / "experiment" / "bomb.yaml").write_text(alias_bomb(6))  # 10**6 values
    line = refused(["experiment=bomb"])
    assert "experiment/bomb.yaml" in line and "aliases expand to more than" in line
    (configs / "experiment" / "loop.yaml").write_text("# @package _global_\na: &a [1, *a]\n")
    assert "experiment/loop.yaml" in refused(["experiment=loop"])
    deep = "# @package _global_\nx: " + "[" * 3000 + "]" * 3000 + "\n"
    (configs / "experiment" / "deep.yaml").write_text(deep)  # was: maximum recursion depth ...
    assert "experiment/deep.yaml: nested too deeply" in refused(["experiment=deep"])


def test_a_preset_file_that_is_not_utf8_is_named(configs):
    (configs / "population" / "latin1.yaml").write_bytes(b"# r\xe9sum\xe9\nn_researchers: 300\n")
    line = refused(["population=latin1"])
    assert "population/latin1.yaml is not UTF-8 text (byte 0xe9" in line


# --- 16, 19: commands that run the runner ------------------------------------------------------

DESIGN = [
    "uncertainty.samples=4",
    "uncertainty.factors=[production.project_success,population.ability_sigma]",
    "uncertainty.jobs=2",
    "run.replicates=2",
    "run.burn_in_years=1",
    "population.n_researchers=200",
    "population.n_institutions=10",
]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (
            ["screening", "oversight.intensity=high"],
            "oversight.intensity = 'high' must be a number",
        ),
        (["screening", "uncertainty.nope=1"], "uncertainty.nope"),
        (["screening", "-m", "-m"], "-m is not needed"),
        (["screening", "--frsh"], "unrecognized arguments: --frsh"),
        (["screening", "hydra.sweep.dir=elsewhere"], "give --out"),
        (["headline"], "has no uncertainty design"),
    ],
)
def test_sensitivity_run_refuses_bad_input_in_one_line(arguments, said, tmp_path):
    done = cli("run", *arguments, "--out", str(tmp_path), module="experiments.sensitivity")
    assert said in one_line_error(done)
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_on_sensitivity_run_says_how_to_resume(tmp_path):
    command = [sys.executable, "-m", "experiments.sensitivity", "run", "screening", *DESIGN]
    command += ["run.years=30", "run.checkpoint_seconds=0", "--out", str(tmp_path)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180
    while not list(tmp_path.glob("runs/*/.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob("runs/*/.partial")), "no point finished within 3 minutes"
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("to resume, run: python -m experiments.sensitivity run screening")


def test_a_taken_folder_names_the_commands_own_remedy_which_works(sweep_dir, tmp_path):  # noqa: F811
    """Following the runner's own hint (another hydra.sweep.dir) sent the jobs elsewhere than
    where the report then looked: the command failed at its end."""
    out = tmp_path / "report"
    out.mkdir()
    sweep_dir.rename(out / "runs")  # finished jobs of another config
    overrides = [*SMALL, "run.start_year=2020"]
    done = cli("scenarios", "--out", str(out), *overrides, module="experiments.headline")
    line = one_line_error(done)
    assert "holds finished results of a different config" in line
    assert "--fresh" in line and "--out DIR" in line and "hydra.sweep.dir" not in line
    moved = cli(
        "scenarios", "--out", str(out), *overrides, f"hydra.sweep.dir={tmp_path / 'x'}",
        module="experiments.headline",
    )  # fmt: skip
    assert "give --out" in one_line_error(moved)
    new = tmp_path / "new"
    again = cli("scenarios", "--out", str(new), *overrides, module="experiments.headline")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (new / "report.md").is_file()
