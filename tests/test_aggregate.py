"""Aggregation of sweep folders: levers joined, missing and failed jobs listed, partial sweeps."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.engine import io
from experiments.engine.store import FAILURE
from experiments.studies.sweep.aggregate import AggregateError, Sweep, aggregate
from sim import STEP_METRICS

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "run.replicates=2",
    "run.years=2",
    "run.burn_in_years=1",
    "population.n_researchers=200",
    "population.n_institutions=10",
]


def run_cli(module: str, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    """Four jobs: scenario (a preset group) x oversight intensity, two replicates each."""
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    done = run_cli(
        "experiments.run",
        "-m",
        "scenario=none,seed_timeline",
        "oversight.intensity=0,1",
        *SMALL,
        f"hydra.sweep.dir={out}",
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def sweep_dir(finished_sweep, tmp_path) -> Path:
    """A fresh copy of the finished sweep that a test may damage."""
    copy = tmp_path / "sweep"
    shutil.copytree(finished_sweep, copy)
    return copy


def test_a_complete_sweep_gives_one_row_per_replicate_with_its_levers(sweep_dir):
    sweep = aggregate(sweep_dir)
    assert isinstance(sweep, Sweep)
    assert sweep.missing == []
    assert sweep.levers == ["oversight.intensity", "scenario"]
    assert len(sweep.replicates) == 4 * 2
    assert list(sweep.replicates.columns[:3]) == ["job", "replicate", "seed"]
    assert {"oversight.intensity", "scenario", "breakthrough_rate"} <= set(sweep.replicates)
    arms = sweep.replicates.groupby(["scenario", "oversight.intensity"])["seed"].apply(list)
    assert len(arms) == 4 and all(seeds == arms.iloc[0] for seeds in arms)  # paired seeds
    assert sweep.fixed["population.n_researchers"] == 200
    assert "oversight.intensity" not in sweep.fixed and "timeline" not in sweep.levers
    assert sweep.provenance["status"] == "complete"
    assert "git" in sweep.provenance["environment"]


def test_timeseries_is_tidy_with_levers_and_every_step_metric(sweep_dir):
    sweep = aggregate(sweep_dir)
    series = sweep.timeseries
    assert list(series.columns[:5]) == ["job", "replicate", "seed", "step", "year"]
    assert set(STEP_METRICS) <= set(series.columns)
    assert set(sweep.levers) <= set(series.columns)
    assert len(series) == 4 * 2 * 8  # jobs x replicates x quarterly steps in two years


def test_files_are_written_and_read_back_equal(sweep_dir):
    sweep = aggregate(sweep_dir)
    table = pd.read_csv(sweep_dir / "sweep.csv", dtype={"job": str})
    pd.testing.assert_frame_equal(table, sweep.replicates, check_dtype=False)
    assert len(pd.read_csv(sweep_dir / "sweep_timeseries.csv")) == len(sweep.timeseries)
    summary = json.loads((sweep_dir / "sweep.json").read_text())
    assert summary["levers"] == sweep.levers
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert not (sweep_dir / "sweep.parquet").exists()
    else:
        parquet = pd.read_parquet(sweep_dir / "sweep.parquet")
        assert len(parquet) == len(sweep.replicates)


def test_a_partial_sweep_is_aggregated_and_its_gaps_listed_with_reasons(sweep_dir):
    shutil.rmtree(sweep_dir / "1")  # never started
    (sweep_dir / "2" / "timeseries.csv").unlink()  # output lost
    with open(sweep_dir / "3" / "replicates.csv", "a") as f:
        f.write("tampered\n")  # changed after the job finished
    sweep = aggregate(sweep_dir)
    assert sorted(sweep.replicates["job"].unique()) == ["0"]
    reasons = "\n".join(sweep.missing)
    assert len(sweep.missing) == 3
    assert "1 (" in reasons and "never started" in reasons
    assert "2: timeseries.csv missing" in reasons
    assert "3: replicates.csv changed" in reasons


def test_a_failed_job_is_listed_with_its_error(sweep_dir):
    (sweep_dir / "2" / "provenance.json").unlink()
    io.write_json(sweep_dir / "2" / FAILURE, {"error": "ValueError: the model broke"})
    sweep = aggregate(sweep_dir)
    assert any("failed: ValueError: the model broke" in line for line in sweep.missing)
    assert "2" not in set(sweep.replicates["job"])


def test_nothing_to_aggregate_is_a_one_line_error(tmp_path):
    with pytest.raises(AggregateError, match="no complete job"):
        aggregate(tmp_path)
    done = run_cli("experiments.aggregate", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: no such folder: {tmp_path / 'absent'}"]


def test_command_line_reports_jobs_levers_and_missing(sweep_dir):
    shutil.rmtree(sweep_dir / "3")
    done = run_cli("experiments.aggregate", str(sweep_dir))
    assert done.returncode == 0, done.stderr
    assert "3 complete jobs, 6 replicates; levers: oversight.intensity, scenario" in done.stdout
    assert "missing: 3 (" in done.stdout
    assert (sweep_dir / "sweep.csv").is_file()


def test_a_single_job_folder_is_a_sweep_of_one(sweep_dir):
    sweep = aggregate(sweep_dir / "0")
    assert sweep.levers == [] and len(sweep.replicates) == 2
    assert sweep.replicates["job"].unique().tolist() == ["."]
