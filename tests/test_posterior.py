"""An ensemble design: an accepted ensemble's parameter sets, each the status quo of its burn-in."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.engine import design
from experiments.studies.sensitivity import sensitivity
from sim import ResearchModel, with_overrides
from sim.params import ParameterError

ROOT = Path(__file__).resolve().parent.parent
ENSEMBLE = pd.DataFrame(
    {
        "point": [7, 3, 11],
        "guanxi.weight": [0.3, 1.2, 2.0],
        "production.project_success": [0.15, 0.25, 0.35],
        "distance": [0.1, 0.2, 0.3],  # other columns are not parameters: ignored
    }
)
SMALL = [
    "experiment=posterior",
    "uncertainty.contrasts=[{key: oversight.intensity, low: 0.0, high: 1.0, "
    "claims: {breakthrough_rate: negative}}]",
    "uncertainty.outcomes=[breakthrough_rate,papers_per_researcher_year]",
    "uncertainty.jobs=2",
    "uncertainty.job=range(0,2)",
    "run.replicates=2",
    "run.years=3",
    "run.burn_in_years=2",
    "population.n_researchers=150",
    "population.n_institutions=6",
]


def spec_for(path: Path, **extra) -> design.DesignConfig:
    return design.DesignConfig(method="ensemble", ensemble=str(path), **extra)


def test_the_points_are_the_ensembles_rows_and_bad_sets_stop(tmp_path):
    path = tmp_path / "accepted.csv"
    ENSEMBLE.to_csv(path, index=False)
    spec = design.check(spec_for(path))
    assert list(design.factors(spec)) == ["guanxi.weight", "production.project_success"]
    assert design.sample(spec).tolist() == ENSEMBLE.iloc[:, 1:3].to_numpy().tolist()
    ENSEMBLE.assign(**{"production.project_success": [0.2, 7.0, 0.3]}).to_csv(path, index=False)
    with pytest.raises(ParameterError, match="project_success in .* = 7.0 is out of range"):
        design.check(spec_for(path))
    ENSEMBLE.rename(columns={"guanxi.weight": "guanxi.wait"}).to_csv(path, index=False)
    with pytest.raises(ParameterError, match="column unknown parameter 'guanxi.wait'"):
        design.check(spec_for(path))
    with pytest.raises(ParameterError, match="cannot be read"):
        design.check(spec_for(tmp_path / "missing.csv"))
    with pytest.raises(ParameterError, match="for method ensemble only"):
        design.check(design.DesignConfig(method="latin", ensemble=str(path)))


def test_each_set_runs_as_its_own_status_quo_and_the_report_says_ensemble(tmp_path):
    path = tmp_path / "accepted.csv"
    ENSEMBLE.to_csv(path, index=False)
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "experiments.run", "-m", *SMALL]
    command += [f"uncertainty.ensemble={path}", f"hydra.sweep.dir={sweep}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    analysis = sensitivity.analyse(sweep)
    row = analysis.design.runs.query("point == 1 and arm == 'oversight.intensity:high'").iloc[0]
    at_set = with_overrides(
        n_researchers=150,
        n_institutions=6,
        years=3,
        burn_in_years=2,
        **{"guanxi.weight": 1.2, "production.project_success": 0.25},
    )
    model = ResearchModel(
        params=with_overrides(at_set, intensity=1.0), seed=int(row["seed"]), status_quo=at_set
    ).run()
    assert row["breakthrough_rate"] == model.run_metrics()["breakthrough_rate"]
    out = tmp_path / "report"
    sensitivity.write(analysis, out, "python -m experiments.sensitivity SWEEP")
    report = (out / "report.md").read_text()
    assert "over 3 parameter sets (" in report and "of the accepted ensemble" in report
