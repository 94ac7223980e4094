"""The calibration pipeline (experiments/calibrate.py): its outputs say what ABC-SMC did, its
numbers do not depend on the number of processes or on an interruption, and it refuses bad input
before running (the recovery of known parameters: tests/test_calibrate_recovery.py)."""

import dataclasses
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.studies.calibration import abc_smc, calibrate, calibrate_job, calibration
from sim.params import ParameterError, with_overrides

ROOT = Path(__file__).resolve().parents[1]
TRUTH = {"guanxi.weight": 1.5, "collaboration.formation_per_year": 0.1}
RANGES = {"guanxi.weight": [0.0, 3.0], "collaboration.formation_per_year": [0.02, 0.25]}
SMALL = {"population.n_researchers": 300, "run.years": 8.0}
STATS = {  # statistic and args of each recovery target
    "election": ("election_ratio", {"situation": "baseline", "elected": 0.2, "connected": 0.5}),
    "foreign": ("final_foreign_share", {"situation": "baseline"}),
}


def targets_file(path, values: dict, tolerances: dict, **changes) -> str:
    rows = [
        {
            "id": key,
            "study": "the model itself",
            "published": "generated at known parameter values",
            "checked": "n/a",
            "statistic": statistic,
            "args": args,
            "value": float(values[key]),
            "tolerance": float(tolerances[key]),
            "use": "fit",
        }
        | changes.get(key, {})
        for key, (statistic, args) in STATS.items()
    ]
    path.write_text(yaml.safe_dump({"situations": {"baseline": {}}, "targets": rows}))
    return str(path)


def overrides(targets: str, **extra) -> list[str]:
    items = {
        "targets": targets,
        "population": 8,
        "generations": 2,
        "max_simulations": 1000,
        "min_epsilon": 0.0,
        "replicates": 2,
        "pilot_points": 3,
        "confirm_points": 0,
        "validation_replicates": 2,
        "workers": 1,
        "checkpoint_seconds": 0,
        **extra,
    }
    out = [f"{k}={v}" for k, v in items.items()]
    out += [f"++base.{k}={v}" for k, v in SMALL.items()]
    out += ["~parameters"]  # quick.yaml's parameters replaced by the two below
    out += [f"+parameters.{k}=[{lo},{hi}]" for k, (lo, hi) in RANGES.items()]
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Target values measured at TRUTH on seeds other than the calibration's, with tolerances
    of three standard errors of a 3-seed mean."""
    target_set = calibration.check_targets(
        yaml.safe_load(
            open(targets_file(tmp_path_factory.mktemp("t") / "t.yaml", _ones(), _ones()))
        )
    )
    params = with_overrides(calibration.params_type()(), **SMALL, **TRUTH)
    rows = pd.DataFrame(
        [calibration.evaluate(params, target_set, target_set.targets, 1000 + s) for s in range(8)]
    )
    return rows.mean().to_dict(), (3 * rows.std() / np.sqrt(3)).to_dict()


def _ones():
    return dict.fromkeys(STATS, 1.0)


@pytest.fixture(scope="module")
def whole(tmp_path_factory, generated):
    """One small calibration, uninterrupted, in one process: what the others must reproduce."""
    folder = tmp_path_factory.mktemp("whole")
    values, tolerances = generated
    targets = targets_file(folder / "targets.yaml", values, tolerances)
    args = overrides(targets, confirm_points=2, confirm_replicates=2)
    assert calibrate.calibrate("quick", args, folder / "out") == "complete"
    return args, folder / "out"


COMPARED = ("posterior.csv", "generations.csv", "points.csv", "table.csv", "fitted_overrides.txt")


def test_outputs_say_what_the_method_did(whole):
    args, out = whole
    posterior = pd.read_csv(out / "posterior.csv")
    assert len(posterior) == 8 and posterior["weight"].sum() == pytest.approx(1.0)
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1]
    assert np.isinf(generations["epsilon"].iloc[0]) and generations["epsilon"].iloc[1] < np.inf
    assert (
        generations["acceptance_rate"] == generations["accepted"] / generations["proposals"]
    ).all()
    points = pd.read_csv(out / "points.csv")
    assert set(posterior["point"]) <= set(points["point"])
    assert (points.groupby("point").size() == 2).all()  # every parameter set on 2 seeds
    assert points["seed"].is_unique  # each simulation its own seed
    noise = pd.read_csv(out / "distance.csv").set_index("target")
    record = json.loads((out / "provenance.json").read_text())
    assert noise["seed_variance"].to_dict() == pytest.approx(record["seed_variance"])
    assert (noise["discrepancy"] == 0.5 * noise["tolerance"]).all()
    params = pd.read_csv(out / "parameters.csv").set_index("parameter")
    assert (params["posterior_q05"] <= params["posterior_median"]).all()
    assert (params["posterior_median"] <= params["posterior_q95"]).all()
    # the comparison that decides adoption: paired on the fresh seeds, as recorded
    validation = pd.read_csv(out / "validation.csv")
    target_set = calibration.load_targets(Path(calibrate.read_config("quick", args)["targets"]))
    fitting = target_set.fitting()
    assert record["fit_comparison"] == pytest.approx(calibrate.fit_comparison(validation, fitting))
    assert "defaults minus fitted, paired by seed" in (out / "table.md").read_text()


def test_confirmation_chooses_the_closest_on_further_seeds(whole):
    args, out = whole
    posterior = pd.read_csv(out / "posterior.csv")
    confirmed = pd.read_csv(out / "confirmation.csv")
    nearest = posterior.nsmallest(2, "distance", keep="first")["point"]
    assert sorted(set(confirmed["point"])) == sorted(nearest)
    searched = pd.read_csv(out / "points.csv")
    assert set(confirmed["replicate"]) == {2, 3} and not set(confirmed["seed"]) & set(
        searched["seed"]
    )
    assert confirmed.groupby("replicate")["seed"].nunique().eq(1).all()  # the same for all
    record = json.loads((out / "provenance.json").read_text())
    cfg, target_set, _, _ = calibrate.check_config(calibrate.read_config("quick", args))
    fit_ids = [t.id for t in target_set.fitting()]
    distance = abc_smc.NoisyDistance(target_set.fitting(), 0.5, record["seed_variance"], 2)
    means = calibrate.point_means(confirmed, fit_ids)
    closest = min(means.index, key=lambda p: distance(means.loc[p]))
    assert record["fitted_point"] == closest


def test_numbers_do_not_depend_on_the_number_of_processes(tmp_path, whole):
    args, out = whole
    assert calibrate.calibrate("quick", [*args, "workers=2"], tmp_path / "two") == "complete"
    for name in COMPARED:
        assert (out / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_rerun_is_skipped_and_interrupted_run_resumes(tmp_path, whole, monkeypatch):
    args, out = whole
    assert calibrate.calibrate("quick", args, out) == "skipped"
    real, calls = calibrate_job.run_task, []

    def interrupted(*task):
        calls.append(task[4:6])
        if len(calls) == 3 * 2 + 9 * 2 + 5:  # pilot, generation 0, then into generation 1
            raise KeyboardInterrupt
        return real(*task)

    monkeypatch.setattr(calibrate_job, "run_task", interrupted)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        calibrate.calibrate("quick", args, resumed)
    assert (resumed / ".partial" / calibrate.DATABASE).is_file()  # generation 0 stored
    finished = set(calls[:-1])
    calls.clear()
    monkeypatch.setattr(calibrate_job, "run_task", lambda *t: calls.append(t[4:6]) or real(*t))
    assert calibrate.calibrate("quick", args, resumed) == "complete"
    assert calls and not finished & set(calls)  # no finished pair run again
    for name in COMPARED:
        assert (out / name).read_bytes() == (resumed / name).read_bytes(), name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"foreign": {"statistic": "no_such_statistic"}}, "targets.foreign.statistic = "),
        ({"foreign": {"tolerance": 0.0}}, "targets.foreign.tolerance = 0.0 must be > 0"),
        ({"foreign": {"tolerance": -1}}, "targets.foreign.tolerance = -1 must be > 0"),
        ({"foreign": {"use": "maybe"}}, "targets.foreign.use = 'maybe'"),
        ({"foreign": {"args": {"situation": "moon"}}}, "targets.foreign.args.situation = 'moon'"),
    ],
)
def test_bad_target_stops_with_one_line(tmp_path, change, message):
    path = targets_file(tmp_path / "t.yaml", _ones(), _ones(), **change)
    with pytest.raises(ParameterError) as err:
        calibrate.check_config(calibrate.read_config("quick", overrides(path)))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["++parameters.production.no_such=[0,1]"], "unknown parameter 'production.no_such'"),
        (["++parameters.guanxi.weight=[0,99]"], "parameters.guanxi.weight = 99.0 is out of range"),
        (["++parameters.guanxi.weight=[2,1]"], "must have low < high"),
        (["++parameters.oversight.intensity=null"], "has no plausible range"),
        (["population=1"], "population = 1 must be a whole number >= 2"),
        (["generations=0"], "generations = 0 must be a whole number >= 1"),
        (["replicates=1"], "replicates = 1 must be a whole number >= 2"),
        (["pilot_points=true"], "pilot_points = True must be a whole number >= 2"),
        (["max_simulations=5"], "max_simulations = 5 must be from population (8)"),
        (["epsilon_quantile=0"], "epsilon_quantile = 0 must be in (0, 1]"),
        (["min_epsilon=-1"], "min_epsilon = -1 must be a number >= 0"),
        (["discrepancy=much"], "discrepancy = 'much' must be a number >= 0"),
        (["kernel_scaling=0"], "kernel_scaling = 0 must be a number > 0"),
        (["confirm_seed=0"], "seed = 0 must differ from the other seed roots"),
        (["no_such_key=1"], "unknown key 'no_such_key'"),
        (["+no_such_key=1"], "unknown key 'no_such_key'"),
        (["parameters.oversight.x=[0,1]"], "use +parameters.oversight.x=[0,1]"),  # Hydra's hint
        (["population=[1"], "cannot read override 'population=[1'"),
        (["++base.population.n_researchers=-5"], "base: population.n_researchers = -5"),
        (["fit_also=[election]"], "fit_also: 'election' is not a held-out target"),
        (["fit_also=election"], "fit_also = 'election' must be a list of target ids"),
    ],
)
def test_bad_config_stops_with_one_line(tmp_path, extra, message):
    path = targets_file(tmp_path / "t.yaml", _ones(), _ones())
    with pytest.raises(ParameterError) as err:
        calibrate.check_config(calibrate.read_config("quick", overrides(path) + extra))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_fit_also_fits_a_held_out_target_in_one_calibration(tmp_path):
    path = targets_file(tmp_path / "t.yaml", _ones(), _ones(), foreign={"use": "held_out"})
    for extra, fitted in (([], ["election"]), (["fit_also=[foreign]"], ["election", "foreign"])):
        config = calibrate.read_config("quick", overrides(path) + extra)
        _, target_set, _, _ = calibrate.check_config(config)
        assert [t.id for t in target_set.fitting()] == fitted


def test_command_reports_bad_input_on_one_line(tmp_path, capsys):
    assert calibrate.main(["calibration=nonesuch", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: calibration = 'nonesuch' is not a config") and "\n" not in err


def test_a_changed_range_keeps_its_place_and_quick_inherits_default():
    """The order of the ranges decides the design and the proposals, so the numbers: a range
    changed with ++ stays where the config file put it; quick.yaml reads default.yaml's."""
    default = calibrate.check_config(calibrate.read_config("default", []))[2]
    changed = calibrate.check_config(
        calibrate.read_config("quick", ["++parameters.guanxi.weight=[0,2]"])
    )[2]
    assert list(changed) == list(default)
    every_key = {f.name for f in dataclasses.fields(calibrate.CalibrationConfig)}
    assert set(calibrate.read_config("default", [])) == every_key  # so Hydra can override each
    assert changed["guanxi.weight"] == (0.0, 2.0) and default["guanxi.weight"] == (0.0, 3.0)


def test_committed_targets_are_valid_and_hold_out_at_least_two():
    target_set = calibration.load_targets(
        calibrate.PROJECT_ROOT / calibrate.CalibrationConfig.targets
    )
    assert len(target_set.targets) >= 7
    assert len(target_set.held_out()) >= 2 and len(target_set.fitting()) >= 5
    for name in ("default", "quick"):
        calibrate.check_config(calibrate.read_config(name, []))


def test_hydra_jobs_give_the_same_numbers_as_one_process(tmp_path, generated):
    """jobs=2 runs the pairs as a Hydra sweep (here on the basic launcher; joblib, submitit and
    Ray take the same overrides as sweeps) and gives the same files as the in-process runner."""
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    args = overrides(targets, population=4, generations=1, pilot_points=2)
    calibrate.calibrate("quick", args, tmp_path / "here")
    launcher = ["hydra/launcher=basic"]
    calibrate.calibrate("quick", [*args, "jobs=2"], tmp_path / "jobs", hydra_args=launcher)
    runs = tmp_path / "jobs" / "runs"
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == ["0", "1"]
    for job in ("0", "1"):  # engine jobs (engine/job.py), whose pairs the calibration took
        record = json.loads((runs / job / "provenance.json").read_text())
        assert record["status"] == "complete" and record["job"]["num"] == int(job)
        assert list(record["outputs"]) == ["pairs.csv"] and not (runs / job / "pairs.csv").exists()
    for name in ("posterior.csv", "points.csv", "validation.csv", "table.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "jobs" / name).read_bytes()


def test_pairs_of_a_killed_hydra_job_are_taken_once_whatever_the_next_jobs(tmp_path):
    """A killed job's checkpoint goes into the calibration's (so a rerun with any number of jobs
    redoes none of its pairs); a job folder of another calibration gives nothing."""
    row = {"point": 3, "replicate": 1, "seed": 7, "guanxi.weight": 0.25, "stat": 0.125}
    for job, key in (("0", "CAL job0"), ("1", "OTHER job1")):
        calibrate_job.PairCheckpoint(tmp_path / "runs" / job, key, 0.0).add([{"pair": 0} | row])
    assert calibrate_job.harvest(tmp_path / "runs", "CAL") == [row]
    assert calibrate_job.harvest(tmp_path / "runs", "CAL") == []


def test_killed_command_resumes(tmp_path, generated):
    """A calibration killed outright (SIGKILL) resumes from the pairs it had saved."""
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "experiments.calibrate", "calibration=quick"]
    command += [*overrides(targets, population=12), "--out", str(out)]
    first = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((out / ".partial").glob("chunk-*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    holder = json.loads((out / ".lock").read_text())  # what a second command is told
    assert holder["command"].startswith("python -m experiments.calibrate calibration=quick")
    first.send_signal(signal.SIGKILL)
    first.wait()
    saved = len(list((out / ".partial").glob("chunk-*.json")))  # complete chunks only
    assert saved >= 1 and not (out / "provenance.json").exists()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert re.search(r"reusing (\d+) finished", done.stderr), done.stderr
    assert "complete" in done.stdout and (out / "provenance.json").is_file()


def test_with_the_scores_consequences_off_counting_splits_papers_but_costs_no_breakthroughs():
    """experiments.franzoni_channels: with funding, exit, imitation and approval blind to the
    score, as under a cash bonus, counting papers still raises papers (by splitting) and leaves
    breakthroughs about as they are (within 5% over the seeds; one breakthrough more or less is
    7% of a seed's 15 here): splitting lowers each routine paper's impact and adds papers, which
    cross the threshold about as often in all, so what counting costs comes through the score's
    consequences (the pattern tests check that it does)."""
    from experiments.studies.calibration import franzoni as fc

    config = fc.check(fc.read_config(["seeds=3", "researchers=1000", "workers=1"]))
    off = fc.ratios(config, fc.arms(config)["all off"] | {"run.burn_in_years": 5.0}, 20.0)
    assert abs(np.mean(off["breakthrough_rate"]) - 1) < 0.05, off
    assert np.all(np.array(off["papers_per_researcher_year"]) > 1.2), off
    assert fc.main(["seeds=1"]) == 2  # bad input: one line, before any run
