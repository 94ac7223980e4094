"""The calibration pipeline (experiments/calibrate.py): it recovers parameters from targets the
model itself produced, refuses bad input before running, and resumes after an interruption."""

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

from experiments import calibrate, calibration
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
        "samples": 24,
        "refine_samples": 0,
        "confirm_points": 0,
        "replicates": 3,
        "validation_replicates": 2,
        "accept_fraction": 0.3,  # 7 of 24 points: the truth inside their range despite noise
        "workers": 1,
        "checkpoint_seconds": 0,
        **extra,
    }
    out = [f"{k}={v}" for k, v in items.items()]
    out += [f"base.{k}={v}" for k, v in SMALL.items()]
    out += ["parameters=null"]  # quick.yaml's parameters replaced by the two below
    out += [f"parameters.{k}=[{lo},{hi}]" for k, (lo, hi) in RANGES.items()]
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


def test_recovers_known_parameters(tmp_path, generated):
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    out = tmp_path / "out"
    assert calibrate.calibrate("quick", overrides(targets), out) == "complete"
    params = pd.read_csv(out / "parameters.csv").set_index("parameter")
    for name, truth in TRUTH.items():
        row = params.loc[name]
        assert row["accepted_min"] <= truth <= row["accepted_max"], (name, row.to_dict())
        width = RANGES[name][1] - RANGES[name][0]
        assert abs(row["fitted"] - truth) < 0.3 * width, (name, row["fitted"])
    table = pd.read_csv(out / "table.csv")
    assert set(table["target"]) == set(STATS)
    assert (out / "fitted.yaml").is_file() and (out / "provenance.json").is_file()
    # the comparison that decides adoption: paired on the fresh seeds, as recorded
    validation = pd.read_csv(out / "validation.csv")
    recorded = json.loads((out / "provenance.json").read_text())["fit_comparison"]
    fitting = calibration.load_targets(Path(targets)).fitting()
    assert recorded == pytest.approx(calibrate.fit_comparison(validation, fitting))
    assert recorded["ci_low"] <= recorded["difference"] <= recorded["ci_high"]
    assert "defaults minus fitted, paired by seed" in (out / "table.md").read_text()


def test_rerun_is_skipped_and_interrupted_run_resumes(tmp_path, generated, monkeypatch):
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    args = overrides(targets, samples=6, replicates=2)
    whole = tmp_path / "whole"
    calibrate.calibrate("quick", args, whole)
    assert calibrate.calibrate("quick", args, whole) == "skipped"

    real, calls = calibrate.run_task, []

    def interrupted(*task):
        calls.append(task[4:6])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*task)

    monkeypatch.setattr(calibrate, "run_task", interrupted)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        calibrate.calibrate("quick", args, resumed)
    calls.clear()
    monkeypatch.setattr(calibrate, "run_task", lambda *t: calls.append(t[4:6]) or real(*t))
    assert calibrate.calibrate("quick", args, resumed) == "complete"
    assert len(calls) == 6 * 2 - 4 + 2 * 2  # only the unfinished pairs, then the final seeds
    for name in ("points.csv", "table.csv", "fitted_overrides.txt"):
        assert (whole / name).read_bytes() == (resumed / name).read_bytes(), name


def test_refinement_and_confirmation_choose_as_documented_and_resume(
    tmp_path, generated, monkeypatch
):
    """The second stage samples only inside the box of the first stage's accepted points and
    accepts among both stages; the fitted point is the closest on further seeds of the accepted
    points closest on the search seeds; an interruption resumes to the same files."""
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    args = overrides(targets, samples=6, replicates=2, refine_samples=4, accept_fraction=0.34)
    args += ["confirm_points=2", "confirm_replicates=2"]
    whole = tmp_path / "whole"
    calibrate.calibrate("quick", args, whole)
    points = pd.read_csv(whole / "points.csv").groupby("point").first()
    first, second = points.loc[points.index < 6], points.loc[points.index >= 6]
    assert len(second) == 4
    accepted = pd.read_csv(whole / "accepted.csv")
    assert len(accepted) == 4 and set(accepted["stage"]) <= {1, 2}  # ceil(0.34 x 10 points)
    cfg, target_set, ranges, _ = calibrate.check_config(calibrate.read_config("quick", args))
    rows = pd.read_csv(whole / "points.csv")
    means = calibrate.point_means(rows[rows["point"] < 6], [t.id for t in target_set.fitting()])
    box = calibrate.accepted_box(
        first, calibrate.accept(means, target_set.fitting(), 0.34)[0], ranges
    )
    for name, (low, high) in box.items():
        assert second[name].between(low, high).all(), name

    confirmed = pd.read_csv(whole / "confirmation.csv")
    nearest = accepted.nsmallest(2, "distance")["point"]
    assert sorted(set(confirmed["point"])) == sorted(nearest)
    assert set(confirmed["replicate"]) == {2, 3} and not set(confirmed["seed"]) & set(rows["seed"])
    fit_ids = [t.id for t in target_set.fitting()]
    redone = calibrate.distances(calibrate.point_means(confirmed, fit_ids), target_set.fitting())
    provenance = yaml.safe_load((whole / "provenance.json").read_text())
    assert provenance["fitted_point"] == redone.idxmin()
    assert accepted.set_index("point")["confirmed_distance"].dropna().to_dict() == pytest.approx(
        redone.to_dict()
    )

    real, calls = calibrate.run_task, []

    def interrupted(*task):
        calls.append(task[4:6])
        if len(calls) == 6 * 2 + 3:  # during the second stage
            raise KeyboardInterrupt
        return real(*task)

    monkeypatch.setattr(calibrate, "run_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        calibrate.calibrate("quick", args, tmp_path / "resumed")
    calls.clear()
    monkeypatch.setattr(calibrate, "run_task", lambda *t: calls.append(t[4:6]) or real(*t))
    assert calibrate.calibrate("quick", args, tmp_path / "resumed") == "complete"
    assert len(calls) == 4 * 2 - 2 + 2 * 2 + 2 * 2  # the rest of stage 2, confirmation, final
    for name in ("points.csv", "accepted.csv", "confirmation.csv", "table.csv", "fitted.yaml"):
        assert (whole / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes(), name


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
        (["parameters.production.no_such=[0,1]"], "unknown parameter 'production.no_such'"),
        (["parameters.guanxi.weight=[0,99]"], "parameters.guanxi.weight = 99.0 is out of range"),
        (["parameters.guanxi.weight=[2,1]"], "must have low < high"),
        (["parameters.oversight.intensity=null"], "has no plausible range"),
        (["samples=1"], "samples = 1 must be a whole number >= 2"),
        (["refine_samples=-1"], "refine_samples = -1 must be a whole number >= 0"),
        (["accept_fraction=0"], "accept_fraction = 0 must be in (0, 1]"),
        (["confirm_seed=0"], "seed = 0 must differ from the other seed roots"),
        (["no_such_key=1"], "unknown key 'no_such_key'"),
        (["base.population.n_researchers=-5"], "base: population.n_researchers = -5"),
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
    args = overrides(targets, samples=4, replicates=1)
    calibrate.calibrate("quick", args, tmp_path / "here")
    launcher = ["hydra/launcher=basic"]
    calibrate.calibrate("quick", [*args, "jobs=2"], tmp_path / "jobs", hydra_args=launcher)
    assert sorted(p.name for p in (tmp_path / "jobs" / "runs").iterdir() if p.is_dir()) == [
        "0",
        "1",
    ]
    for name in ("points.csv", "validation.csv", "table.csv", "fitted_overrides.txt"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "jobs" / name).read_bytes()


def test_killed_command_resumes(tmp_path, generated):
    """A calibration killed outright (SIGKILL) resumes from the pairs it had saved."""
    values, tolerances = generated
    targets = targets_file(tmp_path / "targets.yaml", values, tolerances)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "experiments.calibrate", "calibration=quick"]
    command += [*overrides(targets, samples=12, replicates=2), "--out", str(out)]
    first = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((out / ".partial").glob("points-*.csv")) and time.monotonic() < deadline:
        time.sleep(0.05)
    holder = json.loads((out / ".lock").read_text())  # what a second command is told
    assert holder["command"].startswith("python -m experiments.calibrate calibration=quick")
    first.send_signal(signal.SIGKILL)
    first.wait()
    saved = len(list((out / ".partial").glob("points-*.csv")))
    assert saved >= 1 and not (out / "provenance.json").exists()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert re.search(r"reusing (\d+) finished", done.stderr), done.stderr
    assert "complete" in done.stdout and (out / "provenance.json").is_file()


def test_with_the_scores_consequences_off_counting_splits_papers_but_costs_no_breakthroughs():
    """experiments/franzoni_channels.py: with funding, exit, imitation and approval blind to the
    score, as under a cash bonus, counting papers still raises papers (by splitting) and leaves
    breakthroughs as they are: at the calibrated scale a split routine paper hardly ever crosses
    the threshold, so what counting costs comes through the score's consequences (the pattern
    tests check that it does)."""
    from experiments.studies.channels import franzoni as fc

    off = fc.ratios(fc.ARMS["all four off"] | {"run.burn_in_years": 5.0}, 20.0, range(3), 1000)
    assert np.all(np.abs(off["breakthrough_rate"] - 1) < 0.05), off
    assert np.all(off["papers_per_researcher_year"] > 1.2), off
