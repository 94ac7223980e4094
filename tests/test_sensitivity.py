"""Uncertainty designs end to end: known answers, resume after a kill, launchers, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.engine import design
from experiments.studies.sensitivity import sensitivity
from experiments.studies.sensitivity.analysis import series
from sim.params import ParameterError, parameter_table

ROOT = Path(__file__).resolve().parent.parent
# A small design of the model: 3 factors, 4 Morris trajectories (16 points), 3 levers (7 arms),
# 2 seeds, 200 researchers over 3 years, in 4 jobs.
SMALL = [
    "experiment=screening",
    "uncertainty.samples=4",
    "uncertainty.factors=[production.project_success,population.ability_sigma,"
    "careers.exit_per_year]",
    "uncertainty.jobs=4",
    "uncertainty.job=range(0,4)",
    "run.replicates=2",
    "run.years=3",
    "run.burn_in_years=1",
    "population.n_researchers=200",
    "population.n_institutions=10",
]


def run_cli(*arguments: str, env=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "experiments.run", "-m", *arguments]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def runs(sweep: Path) -> list[bytes]:
    return [(sweep / str(j) / "design_runs.csv").read_bytes() for j in range(4)]


@pytest.fixture(scope="module")
def basic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("basic") / "sweep"
    run_cli(*SMALL, f"hydra.sweep.dir={out}")
    return out


def test_plausible_ranges_lie_inside_the_allowed_ranges_and_hold_the_default():
    rows = [r for r in parameter_table() if r["plausible"]]
    assert len(rows) >= 30
    for r in rows:
        lo, hi = r["plausible"]
        assert r["lo"] <= lo < hi <= r["hi"], r["name"]
        assert lo <= r["default"] <= hi, r["name"]
        assert r["plausible_source"], r["name"]


def test_ishigami_through_the_hydra_pipeline_gives_the_published_indices(tmp_path):
    """Sobol indices of the Ishigami function (a = 7, b = 0.1), known analytically (Ishigami &
    Homma 1990; the values SALib's documentation gives); x4 is never read."""
    out = tmp_path / "sobol"
    run_cli(
        "uncertainty=ishigami",
        "uncertainty.samples=2048",
        "uncertainty.jobs=2",
        "uncertainty.job=range(0,2)",
        "run.replicates=1",
        f"hydra.sweep.dir={out}",
    )
    analysis = sensitivity.analyse(out)
    got = analysis.indices.set_index("factor")
    assert np.allclose(got["S1"], [0.3139, 0.4424, 0.0, 0.0], atol=0.05)
    assert np.allclose(got["ST"], [0.5576, 0.4424, 0.2437, 0.0], atol=0.05)
    assert abs(got.loc["x4", "ST"]) < 1e-9 and got.loc["x4", "ST_high"] < 1e-9


def test_ishigami_morris_gives_salibs_mu_star_and_zero_for_the_unread_factor(tmp_path):
    from SALib.analyze import morris

    out = tmp_path / "morris"
    run_cli(
        "uncertainty=ishigami",
        "uncertainty.method=morris",
        "uncertainty.samples=40",
        "run.replicates=1",
        "uncertainty.job=0",
        "uncertainty.jobs=1",
        f"hydra.sweep.dir={out}",
    )
    analysis = sensitivity.analyse(out)
    got = analysis.indices.set_index("factor")
    d = analysis.design
    y = series(analysis.points, "", "y")
    salib = morris.analyze(design.problem(d.spec), d.points, y, num_levels=4, seed=1)
    assert np.allclose(got["mu_star"], salib["mu_star"])
    assert np.allclose(got["sigma"], salib["sigma"], equal_nan=True)
    assert got.loc["x4", "mu_star"] == 0 and got.loc["x4", "mu_star_high"] == 0
    assert (got.loc[["x1", "x2", "x3"], "mu_star_low"] > 0).all()


def test_each_point_runs_every_arm_on_the_same_seeds(basic):
    analysis = sensitivity.analyse(basic)
    table = analysis.design.runs
    assert sorted(table["point"].unique()) == list(range(16))
    assert set(table["arm"]) == {name for name, _ in design.arms(analysis.design.spec)}
    assert table.groupby(["point", "arm"])["seed"].apply(list).map(tuple).nunique() == 1
    row = table[(table["point"] == 5) & (table["arm"] == "oversight.intensity:high")].iloc[1]
    from sim import ResearchModel

    model = ResearchModel(
        seed=int(row["seed"]),
        n_researchers=200,
        n_institutions=10,
        years=3,
        burn_in_years=1,
        intensity=1.0,
        project_success=row["production.project_success"],
        ability_sigma=row["population.ability_sigma"],
        exit_per_year=row["careers.exit_per_year"],
    ).run()
    assert row["breakthrough_rate"] == model.run_metrics()["breakthrough_rate"]
    r = analysis.robustness.set_index(["lever", "outcome"])
    shares = r[["significant_with_sign", "not_distinguished_from_0", "significant_other_sign"]]
    assert np.allclose(shares.sum(axis=1), 1)
    assert (r["share_low"] <= r["share_with_sign"]).all()


def test_the_report_writes_tables_figures_and_the_command(basic, tmp_path):
    assert sensitivity.main([str(basic), "--out", str(tmp_path)]) == 0
    for name in ("report.md", "report.html", "indices.csv", "robustness.csv", "prim.csv"):
        assert (tmp_path / name).is_file(), name
    for name in ("robustness", "effects", "morris_outcomes", "morris_effects"):
        assert (tmp_path / "figures" / f"{name}.png").is_file(), name
    text = (tmp_path / "report.md").read_text()
    assert "Which conclusions hold across the plausible space" in text
    assert f"python -m experiments.sensitivity {basic}" in text
    assert "2 of the 3 are the calibration's accepted ranges" in text  # careers' is provisional
    design_table = pd.read_csv(tmp_path / "design.csv")
    assert len(design_table) == 16


def test_a_killed_design_reruns_only_unfinished_jobs_and_gives_the_same_indices(basic, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "experiments.run", "-m", *SMALL, f"hydra.sweep.dir={out}"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "0" / "provenance.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "3" / "provenance.json").is_file(), "the sweep ended before the kill"
    finished = {
        j: (out / str(j) / "provenance.json").stat().st_mtime_ns
        for j in range(4)
        if (out / str(j) / "provenance.json").is_file()
    }
    done = run_cli(*SMALL, f"hydra.sweep.dir={out}")
    assert done.stdout.count("skipped") == len(finished)
    for j, mtime in finished.items():
        assert (out / str(j) / "provenance.json").stat().st_mtime_ns == mtime
    assert runs(out) == runs(basic)
    resumed, whole = sensitivity.analyse(out), sensitivity.analyse(basic)
    pd.testing.assert_frame_equal(resumed.indices, whole.indices)
    pd.testing.assert_frame_equal(resumed.robustness, whole.robustness)


def test_joblib_launcher_gives_the_same_files(basic, tmp_path):
    run_cli(
        *SMALL, f"hydra.sweep.dir={tmp_path}", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"
    )
    assert runs(tmp_path) == runs(basic)


def test_submitit_local_launcher_gives_the_same_files(basic, tmp_path):
    arguments = [*SMALL, f"hydra.sweep.dir={tmp_path}", "hydra/launcher=submitit_local"]
    run_cli(*arguments, "hydra.launcher.timeout_min=5")
    assert runs(tmp_path) == runs(basic)


def test_ray_cluster_launcher_joins_a_running_cluster_and_gives_the_same_files(
    basic, tmp_path, ray_cluster
):
    """configs/hydra/launcher/ray_cluster.yaml, as a cluster user runs it (issue 12: Ray 2.60
    refused the object_store_memory that hydra-ray-launcher 1.2.2 sets when joining)."""
    address, env = ray_cluster
    arguments = [*SMALL, f"hydra.sweep.dir={tmp_path}", "hydra/launcher=ray_cluster"]
    run_cli(*arguments, f"hydra.launcher.ray.init.address={address}", env=env)
    assert runs(tmp_path) == runs(basic)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("uncertainty.method=fast", "uncertainty.method = 'fast' is not a method"),
        ("uncertainty.factors=[production.papers]", "unknown parameter 'production.papers'"),
        ("uncertainty.factors=[run.years]", "has no plausible range"),
        ("uncertainty.job=7", "uncertainty.job = 7 is out of range"),
        (
            "uncertainty.contrasts=[{key: oversight.intensity, low: 0.0, high: 2.0}]",
            "uncertainty.contrasts[0].high (oversight.intensity) = 2.0 is out of range",
        ),
    ],
)
def test_a_bad_design_stops_before_any_job_runs(override, message, tmp_path):
    arguments = [a for a in SMALL if not a.startswith("uncertainty.job=")]
    if not override.startswith("uncertainty.job="):
        arguments.append("uncertainty.job=range(0,4)")
    command = [sys.executable, "-m", "experiments.run", "-m", *arguments, override]
    command.append(f"hydra.sweep.dir={tmp_path}")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_a_design_job_is_checked_before_the_run_as_every_job_is(basic, tmp_path):
    """One job, whatever its work: a design job of another config or of other model code is
    refused before anything runs, as a sweep job is."""
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(basic, sweep)
    command = [sys.executable, "-m", "experiments.run", "-m", *SMALL, f"hydra.sweep.dir={sweep}"]
    other = subprocess.run([*command, "run.replicates=3"], cwd=ROOT, capture_output=True, text=True)
    assert other.returncode == 2 and "holds finished results of a different config" in other.stderr
    record = json.loads((sweep / "0" / "provenance.json").read_text())
    record["environment"]["code_version"] = "older code"
    (sweep / "0" / "provenance.json").write_text(json.dumps(record))
    stale = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert stale.returncode == 2 and "other model code" in stale.stderr
    assert "run.resume=false" in stale.stderr and "Traceback" not in stale.stderr


def test_a_design_sweep_is_not_aggregated_as_a_sweep_of_arms(basic):
    from experiments.studies.sweep.aggregate import AggregateError, aggregate

    with pytest.raises(AggregateError, match="0: not a sweep's job .no replicates.csv"):
        aggregate(basic, write=False)


def test_design_checks_catch_what_the_schema_cannot():
    spec = design.DesignConfig(method="sobol", samples=100)
    with pytest.raises(ParameterError, match="power of 2"):
        design.check(spec)
    claim = design.Contrast(key="oversight.intensity", claims={"breakthrough_rate": "down"})
    with pytest.raises(ParameterError, match="allowed: positive, negative"):
        design.check(design.DesignConfig(contrasts=[claim]))
    with pytest.raises(ParameterError, match=r"contrasts\[0\].key: unknown parameter ''"):
        design.check(design.DesignConfig(contrasts=[design.Contrast()]))  # a lever must be named


def test_chunks_cover_every_point_once():
    for n, jobs in ((10, 3), (400, 8), (5, 5), (3, 4)):
        covered = [p for j in range(jobs) for p in design.chunk(n, jobs, j)]
        assert covered == list(range(n))


def test_a_design_job_of_other_model_code_is_not_reused(basic, tmp_path, monkeypatch):
    """The model's code version is part of a design job's resume key, as for other jobs: a
    finished job of other code is refused unless run.resume=false, which recomputes it."""
    import shutil

    from experiments.engine import io, job

    folder = tmp_path / "0"
    shutil.copytree(basic / "0", folder)
    assert job.finished(folder).config_hash is not None
    monkeypatch.setattr(io, "code_version", lambda: "other model code")
    assert job.finished(folder).code_version != io.code_version()
