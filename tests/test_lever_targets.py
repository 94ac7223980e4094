"""The targets for lever strengths (issue 23; configs/calibration/targets.yaml): each new
statistic moves with the parameter it is meant to read, in the right direction, on a small
model and the same seeds; research time takes other duties into account; and the committed
targets hold out, frozen, the headline's own contrast and at least three quantitative checks
set before they were measured, one of them a dated event."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.studies.calibration import calibration
from sim import oversight
from sim.params import with_overrides

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"population.n_researchers": 300, "run.years": 11.0, "run.burn_in_years": 5.0}
SEEDS = range(1000, 1003)
SITUATIONS = {"baseline": {}, "export_shock": {"presets": ["export_controls/october_2022"]}}
STATISTICS = {
    "research_time": (
        "run_metric",
        {"metric": "mean_research_time_share", "situation": "baseline"},
    ),
    "short_time": ("research_time_below_share", {"situation": "baseline", "below": 0.3333}),
    "funding": ("connected_funding_ratio", {"situation": "baseline", "connected": 0.2}),
    "exposed_papers": (
        "exposed_papers_ratio",
        {"shock": "export_shock", "control": "baseline", "window_years": 3.0},
    ),
}


def measure(name: str, size: dict = SMALL, **levers) -> float:
    """The mean of one statistic over SEEDS on a model of `size` with `levers` set."""
    statistic, args = STATISTICS[name]
    row = {"id": name, "study": "-", "published": "-", "checked": "-", "value": 1.0}
    row |= {"tolerance": 1.0, "use": "fit", "statistic": statistic, "args": args}
    target_set = calibration.check_targets({"situations": SITUATIONS, "targets": [row]})
    params = with_overrides(calibration.params_type()(), **(size | levers))
    values = [calibration.evaluate(params, target_set, target_set.targets, s)[name] for s in SEEDS]
    return float(np.mean(values))


def test_research_time_is_what_other_duties_leave_less_oversight_share_of_the_rest():
    p = with_overrides(
        calibration.params_type()(),
        **{"oversight.other_duties": 0.4, "oversight.max_time_cost": 0.2},
    )
    np.testing.assert_allclose(oversight.research_time(np.array([0.0, 0.5]), p), [0.6, 0.54])


def test_research_time_share_falls_with_other_duties_and_with_oversight_time():
    none = measure("research_time", **{"oversight.other_duties": 0.0})
    duties = measure("research_time", **{"oversight.other_duties": 0.4})
    costly = measure("research_time", **{"oversight.max_time_cost": 0.5})
    assert duties < none and costly < none
    assert duties == pytest.approx(0.6 * none)


def test_other_duties_reach_output():
    """Time taken by other duties is time not spent producing papers."""
    target_set = calibration.check_targets(
        {
            "situations": SITUATIONS,
            "targets": [
                {
                    "id": "papers",
                    "study": "-",
                    "published": "-",
                    "checked": "-",
                    "value": 1.0,
                    "tolerance": 1.0,
                    "use": "fit",
                    "statistic": "run_metric",
                    "args": {"metric": "papers_per_researcher_year", "situation": "baseline"},
                }
            ],
        }
    )

    def papers(duties):
        params = with_overrides(
            calibration.params_type()(), **SMALL, **{"oversight.other_duties": duties}
        )
        return np.mean(
            [
                calibration.evaluate(params, target_set, target_set.targets, s)["papers"]
                for s in SEEDS
            ]
        )

    assert papers(0.5) < 0.8 * papers(0.0)


def test_share_below_a_third_of_time_rises_when_duties_take_more():
    assert measure("short_time", **{"oversight.other_duties": 0.0}) == 0.0
    assert measure("short_time", **{"oversight.other_duties": 0.7}) == 1.0


def test_connected_funding_advantage_grows_with_guanxi_weight_and_funding_steepness():
    """At the default size (with 300 researchers and few institutions, ties line up with
    institutions' wealth by chance on a seed, whatever the levers). Steepness raises the
    advantage up to about 1 only: steeper funding also makes exit select the untied on merit
    (docs/calibration.md)."""
    full = {}
    no_guanxi = measure("funding", full, **{"guanxi.weight": 0.0})
    strong_guanxi = measure("funding", full, **{"guanxi.weight": 2.0})
    flat = measure("funding", full, **{"incentives.funding_steepness": 0.0})
    steep = measure("funding", full, **{"incentives.funding_steepness": 1.0})
    assert strong_guanxi > no_guanxi + 0.3
    assert steep > flat + 0.05


def test_exposed_researchers_lose_papers_to_the_shock_as_their_output_depends_on_inputs():
    independent = measure("exposed_papers", **{"export_controls.paper_dependence": 0.0})
    dependent = measure("exposed_papers", **{"export_controls.paper_dependence": 0.6})
    assert dependent < independent - 0.05


def test_committed_held_out_targets_include_three_untouched_quantitative_ones_and_a_dated_event():
    targets = yaml.safe_load((ROOT / "configs/calibration/targets.yaml").read_text())["targets"]
    frozen = yaml.safe_load((ROOT / "configs/calibration/frozen.yaml").read_text())["frozen"]
    by_id = {t["id"]: t for t in targets}
    assert by_id["franzoni_top_publications"]["use"] == "held_out"
    first_freeze = {e["id"]: e for e in reversed(frozen)}  # each target's first entry
    untouched = [
        t
        for t in targets
        if t["use"] == "held_out"
        and t.get("kind", "interval") == "interval"
        and t["id"] in first_freeze
        and "why" not in first_freeze[t["id"]]  # moved from fit to held out: not untouched
        and first_freeze[t["id"]]["since"] != "71645b7"  # frozen after the fact there
    ]
    assert len(untouched) >= 3, [t["id"] for t in untouched]
    assert any("shock" in t["args"] for t in untouched)  # a dated event, before and after
