"""Golden fingerprint: performance work on `sim/` must not change what the model computes.

A few run metrics, the sums of every per-step metric and sums of the researchers' final state,
at seeds 1 and 2, for lever settings that exercise every mechanism (count-heavy evaluation with
failure tolerance, strong oversight with merged leaderships, an export-control shock, and a
timeline of dated events that change the window, the interval and other levers mid-run).

When and how the values are regenerated: only for a deliberate change of outputs (a new rule,
a changed default, a change of random draws), never to make a refactoring pass. Such a change
says so in its own commit and updates these values in that same commit: run
`python -m tests.test_golden` (it rewrites `tests/golden.json`) and commit the file. A missing or
incomplete `golden.json` fails the test: it never passes by skipping.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from sim import ResearchModel

BASE = {"n_researchers": 400, "n_institutions": 12, "years": 6}
SCENARIOS = {
    "default": {},
    "counts_tolerant": {
        "publication_weight": 1.0,
        "failure_tolerance": 0.5,
        "evaluation_window_years": 5.0,
    },
    "oversight_merged": {"oversight.intensity": 0.9, "merged_share": 0.5, "guanxi.weight": 1.5},
    "export_shock": {
        "export_controls.enabled": True,
        "export_controls.start_year": 2017.0,
        "severity": 0.9,
    },
    "timeline": {
        "timeline": [
            {"year": 2016.5, "key": "oversight.intensity", "value": 0.8},
            {"year": 2017.0, "key": "incentives.evaluation_window_years", "value": 5.0},
            {"year": 2017.5, "key": "incentives.evaluation_interval_years", "value": 0.5},
            {"year": 2018.0, "key": "incentives.publication_weight", "value": 0.2},
            {"year": 2018.25, "key": "leadership.merged_share", "value": 0.5},
            {"year": 2019.0, "key": "export_controls.enabled", "value": True},
        ],
        "export_controls.start_year": 2019.0,
    },
}
RUN_KEYS = ("total_breakthroughs", "breakthrough_rate", "papers_per_researcher_year", "total_flops")
STATE_KEYS = ("person_id", "ability", "exploratory_share", "funding", "papers", "impact")


def fingerprint(seed: int, scenario: str) -> dict[str, float]:
    model = ResearchModel(seed=seed, **BASE, **SCENARIOS[scenario]).run()
    metrics = model.run_metrics()
    out = {f"run.{k}": metrics[k] for k in RUN_KEYS}
    for name, column in model.timeseries().items():
        out[f"sum.{name}"] = float(np.sum(column))
    for name in STATE_KEYS:
        out[f"state.{name}"] = float(getattr(model.researchers, name).sum())
    return out


GOLDEN_PATH = Path(__file__).with_name("golden.json")
CASES = [f"{seed}/{name}" for seed in (1, 2) for name in SCENARIOS]


@pytest.fixture(scope="module")
def golden() -> dict:
    if not GOLDEN_PATH.is_file():
        pytest.fail(
            f"{GOLDEN_PATH.name} is missing: regenerate it with python -m tests.test_golden"
        )
    return json.loads(GOLDEN_PATH.read_text())


@pytest.mark.parametrize("case", CASES)
def test_outputs_match_the_golden_fingerprint(golden, case):
    assert case in golden, f"{case} is not in {GOLDEN_PATH.name}: regenerate it"
    seed, scenario = case.split("/")
    got = fingerprint(int(seed), scenario)
    expected = golden[case]
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


if __name__ == "__main__":
    cases = {case: fingerprint(int(case.split("/")[0]), case.split("/")[1]) for case in CASES}
    GOLDEN_PATH.write_text(json.dumps(cases, indent=1) + "\n")
