"""Bad input to the Python API stops before any run with one message naming the argument, the
value and what is allowed; an empty field group reports no rate (NaN), not a rate of 0.

Cases of issue 24 (timeline events with missing fields, empty field groups, wrong argument
types) and further bad inputs of the same kind."""

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.analysis import stats
from experiments.present import figures
from sim import Event, ParameterError, Params, ResearchModel
from sim.population import Population

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"n_researchers": 100, "n_institutions": 10, "years": 1, "burn_in_years": 0.5}
EVENT_HAS = "an event has: year, key, value"


# --- timeline events: every field is required -------------------------------------------------


@pytest.mark.parametrize(
    ("event", "missing"),
    [
        ({"year": 2016, "key": "incentives.publication_weight"}, "value"),
        ({"key": "oversight.intensity", "value": 0.5}, "year"),
        ({}, "year, key, value"),
    ],
)
def test_an_event_lacking_a_field_is_refused_not_defaulted(event, missing):
    with pytest.raises(ParameterError, match=f"timeline\\[0\\].*lacks {missing}; {EVENT_HAS}"):
        ResearchModel(seed=1, **SMALL, timeline=[event])


def test_an_event_object_cannot_be_made_without_its_fields():
    with pytest.raises(TypeError, match="value"):
        Event(2016.0, "incentives.publication_weight")


@pytest.mark.parametrize(
    ("timeline", "message"),
    [
        ("x", "timeline = 'x' must be a list of events"),
        (None, "timeline = None must be a list of events"),
        ({"year": 2016, "key": "oversight.intensity", "value": 0.5}, "must be a list of events"),
        (["x"], f"timeline\\[0\\] = 'x' must be a mapping; {EVENT_HAS}"),
        ([{"year": 2016, "key": 5, "value": 0.5}], "timeline\\[0\\].key = 5 must be text"),
        (
            [{"year": 2016, "key": "oversight.intensity", "value": 0.5, "when": 1}],
            f"unknown key 'when' in timeline\\[0\\]; {EVENT_HAS}",
        ),
    ],
)
def test_a_timeline_that_is_not_a_list_of_events_is_named(timeline, message):
    with pytest.raises(ParameterError, match=message):
        ResearchModel(seed=1, **SMALL, timeline=timeline)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "timeline=[{year:2016,key:incentives.publication_weight}]",
            f"timeline[0].value is missing; {EVENT_HAS}",
        ),
        ("timeline=[{}]", f"timeline[0].year is missing; {EVENT_HAS}"),
    ],
)
def test_the_command_refuses_an_event_lacking_a_field(override, message, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.run", override, f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("warning:")]
    assert lines == [f"error: {message}"]
    assert not list(tmp_path.iterdir())  # nothing ran


def test_a_scenario_file_with_an_incomplete_event_is_refused_by_the_dashboard(
    tmp_path, monkeypatch
):
    app = pytest.importorskip("sim.app", reason="the dashboard needs solara")
    (tmp_path / "broken.yaml").write_text("timeline:\n  - {year: 2016, key: oversight.intensity}\n")
    monkeypatch.setattr(app, "SCENARIOS", tmp_path)
    with pytest.raises(ParameterError, match=f"lacks value; {EVENT_HAS}"):
        app.DashboardModel(seed=1, events="broken", **SMALL)
    shown = app.DashboardModel(seed=1, events="broken", on_bad_input="show", **SMALL)
    assert "lacks value" in shown.input_error and not shown.running


# --- wrong types of the constructor's arguments -------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mechanisms": []}, "mechanisms = \\[\\]: allowed are distinct mechanisms"),
        ({"mechanisms": [Population, Population]}, "allowed are distinct mechanisms"),
        (
            {"mechanisms": [object]},
            "mechanisms: <class 'object'> is not a subclass of sim.Mechanism",
        ),
        ({"mechanisms": Population}, "must be a list of Mechanism classes"),
        ({"status_quo": "x"}, "status_quo = 'x' must be a sim.Params"),
        (
            {"params": {"incentives": {}}},
            "params = \\{'incentives': \\{\\}\\} must be a sim.Params",
        ),
        ({"params": 1}, "params = 1 must be a sim.Params"),
    ],
)
def test_arguments_of_the_wrong_kind_are_named(arguments, message):
    with pytest.raises(ParameterError, match=message):
        ResearchModel(seed=1, **SMALL, **arguments)


def test_a_model_of_population_alone_runs():
    model = ResearchModel(seed=1, mechanisms=[Population], **SMALL).run()
    assert len(model.timeseries()) == 4


def test_params_and_status_quo_objects_still_work():
    model = ResearchModel(Params(), seed=1, status_quo=Params(), **SMALL)
    assert model.p.population.n_researchers == 100


def test_a_lever_given_twice_under_two_names_is_refused():
    twice = {"population.n_researchers": 100, "n_researchers": 200}
    with pytest.raises(ParameterError, match="population.n_researchers is given twice, as"):
        ResearchModel(seed=1, years=1, **twice)


def test_repeated_field_names_are_refused():
    names = ["a"] * 8
    with pytest.raises(ParameterError, match="fields.names has 'a' twice; allowed: distinct"):
        ResearchModel(seed=1, **SMALL, **{"fields.names": names})


# --- an empty field group has no rate ---------------------------------------------------------

NO_PRIORITY = {"fields.priority": [False] * 8}
NO_EXPOSED = {  # every field below the exposure threshold, under the shock
    "fields.export_exposure": [0.4] * 8,
    "export_controls.enabled": True,
    "export_controls.start_year": 2015.0,
}


@pytest.mark.parametrize(
    ("levers", "empty", "full"),
    [(NO_PRIORITY, "priority", "nonpriority"), (NO_EXPOSED, "exposed", "unexposed")],
)
def test_an_empty_field_group_has_no_rate_anywhere(levers, empty, full):
    model = ResearchModel(seed=1, **SMALL, **levers).run()
    metrics, series = model.run_metrics(), model.timeseries()
    assert model.group_sizes[empty] == 0
    assert math.isnan(metrics[f"breakthrough_rate_{empty}"])
    assert series[f"quarterly_breakthrough_rate_{empty}"].isna().all()
    assert (series[f"breakthroughs_{empty}"] == 0).all()  # a count of none is 0
    assert metrics[f"breakthrough_rate_{full}"] == metrics["breakthrough_rate"]
    assert series[f"quarterly_breakthrough_rate_{full}"].notna().all()


def test_statistics_and_the_shock_figure_leave_an_empty_group_out(tmp_path):
    """Summaries give n = 0 for the empty group's rate; the shock figure draws without it."""
    frames, rows = [], []
    for enabled in (False, True):
        for seed in (1, 2):
            levers = {**NO_EXPOSED, "export_controls.enabled": enabled}
            model = ResearchModel(seed=seed, **SMALL, **levers).run()
            tags = {"export_controls.enabled": enabled, "seed": seed}
            frames.append(model.timeseries().assign(**tags))
            rows.append({**tags, **model.run_metrics()})
    replicates = pd.DataFrame(rows)
    summary = stats.summarize(
        replicates, ["export_controls.enabled"], ["breakthrough_rate_exposed", "breakthrough_rate"]
    )
    empty = summary[summary.metric == "breakthrough_rate_exposed"]
    assert (empty["n"] == 0).all() and empty["mean"].isna().all()
    assert (summary[summary.metric == "breakthrough_rate"]["n"] == 2).all()
    paths = figures.export_shock(pd.concat(frames), tmp_path, start_year=2015.0)
    assert paths and all(p.stat().st_size > 0 for p in paths)
