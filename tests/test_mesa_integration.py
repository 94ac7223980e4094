"""Researchers are Mesa agents to the user; Mesa's tools work; models do not leak."""

import gc
import inspect
import warnings
import weakref

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import METRICS, STEP_YEARS, Researcher, ResearchModel

# Mesa 3.5 and later record when each collection was made, and batch_run reads that record, so
# the row collected at construction shows as Step 0; Mesa 3.3 reads row k as step k.
RECORDS_TIMES = hasattr(mesa.DataCollector(), "_collection_steps")


def batch_run(model_parameters: dict, seeds: list | None, **options) -> list[dict]:
    """`mesa.batch_run` of ResearchModel on one process, seeded as each Mesa version takes it:
    Mesa 3.5 through batch_run's `rng` argument, Mesa 3.3 through the parameters."""
    if seeds is None:
        parameters, seeding = model_parameters, {}
    elif "rng" in inspect.signature(mesa.batch_run).parameters:
        parameters, seeding = model_parameters, {"rng": seeds}
    else:
        parameters, seeding = {**model_parameters, "seed": seeds}, {}
    return mesa.batch_run(
        ResearchModel,
        parameters=parameters,
        **seeding,
        number_processes=1,
        display_progress=False,
        **options,
    )


def test_agents_list_every_researcher_and_show_array_state():
    model = ResearchModel(seed=1, n_researchers=50, years=1)
    model.step()
    assert len(model.agents) == 50
    (agent,) = model.agents.select(lambda a: a.slot == 3)
    assert isinstance(agent, Researcher)
    assert agent.ability == model.researchers.ability[3]
    assert agent.field_name in model.fields.names
    assert set(agent.state()) >= {"exploratory_share", "funding", "foreign", "ties"}
    agent.exploratory_share = 0.9  # writing an attribute writes the array
    assert model.researchers.exploratory_share[3] == 0.9


def test_agent_views_follow_the_arrays_as_the_model_runs():
    model = ResearchModel(seed=1, n_researchers=50, years=2)
    agents = list(model.agents)
    model.run()
    assert [a.papers for a in agents] == model.researchers.papers.tolist()


def test_datacollector_and_agent_reporters_work():
    model = ResearchModel(seed=2, n_researchers=40, years=1)
    model.run()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 4 + RECORDS_TIMES and "quarterly_breakthrough_rate" in df
    collector = mesa.DataCollector(agent_reporters={"share": "exploratory_share"})
    collector.collect(model)
    assert len(collector.get_agent_vars_dataframe()) == 40


def test_batch_run_sweeps_keyword_levers():
    levers = {"n_researchers": 60, "publication_weight": [0.2, 0.8], "years": 1}
    results = batch_run(levers, [1], max_steps=10)
    assert {r["publication_weight"] for r in results} == {0.2, 0.8}


def test_finished_models_are_freed_even_after_agents_were_listed():
    model = ResearchModel(seed=3, n_researchers=30, years=0.5)
    len(model.agents)
    model.run()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_model_agrees_with_numpy_views():
    model = ResearchModel(seed=4, n_researchers=20, years=0.5).run()
    funding = np.array([a.funding for a in model.agents])
    np.testing.assert_array_equal(np.sort(funding), np.sort(model.researchers.funding))


def test_batch_run_numbers_mean_what_run_metrics_say():
    """Mesa's batch_run collects the step metrics; summed up as declared over the run's
    quarters, they give exactly `run_metrics()`."""
    steps = {"n_researchers": 200, "years": 2, "publication_weight": 0.9}
    rows = batch_run(steps, [11], max_steps=100, data_collection_period=1)
    expected = ResearchModel(seed=11, **steps).run().run_metrics()
    quarters = [row for row in rows if row["years"] > 0]  # not the row at construction
    assert len(quarters) == 8
    series = {name: [row[name] for row in quarters] for name in rows[0]}
    runs = {r.name: r for r in METRICS.runs}
    assert sum(series["breakthroughs"]) == expected[runs["total_breakthroughs"].name]
    rate = 1000 * sum(series["breakthroughs"]) / (200 * 2)
    assert rate == pytest.approx(expected["breakthrough_rate"], rel=1e-12)
    for r in METRICS.runs:
        if r.how == "mean":
            assert np.mean(series[r.of]) == pytest.approx(expected[r.name], rel=1e-12), r.name
        if r.how == "last":
            assert series[r.of][-1] == expected[r.name], r.name
        if r.how == "ratio":
            below = sum(series[r.over])
            ratio = r.per * sum(series[r.of]) / below if below else 0.0
            assert ratio == pytest.approx(expected[r.name], rel=1e-12), r.name


def test_batch_run_gives_the_runs_figures_without_summing():
    """By default batch_run reports the last collection: its run metrics are the run's."""
    levers = {"n_researchers": 200, "years": 2, "publication_weight": [0.2, 0.9]}
    rows = batch_run(levers, [11, 12], max_steps=100)
    assert len(rows) == 4
    for row in rows:
        seed = row["seed"] if "seed" in row else row["rng"]
        arm = {**levers, "publication_weight": row["publication_weight"]}
        expected = ResearchModel(seed=seed, **arm).run().run_metrics()
        assert set(expected) <= set(row)
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name
        assert row["total_breakthroughs"] == expected["total_breakthroughs"]


def test_the_datacollector_holds_the_run_so_far_at_every_step():
    model = ResearchModel(seed=5, n_researchers=200, years=2)
    while model.running:
        model.step()
        collected = model.datacollector.get_model_vars_dataframe().iloc[-1]
        for name, value in model.run_metrics().items():
            assert collected[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name


def test_batch_run_steps_count_from_the_state_after_the_burn_in():
    levers = {"n_researchers": 100, "years": 2, "burn_in_years": 1}
    rows = batch_run(levers, [3], max_steps=100, data_collection_period=1)
    model = ResearchModel(seed=3, **levers)
    opening = dict(model.metrics)  # the state after the burn-in, as its last quarter's row
    quarters = model.run().timeseries()
    if RECORDS_TIMES:
        assert [row["Step"] for row in rows] == list(range(9))
        assert [row["years"] for row in rows] == [k * STEP_YEARS for k in range(9)]
        first, rest = rows[0], rows[1:]
        assert first["year"] == 2015.0 - STEP_YEARS
        assert {name: first[name] for name in opening} == opening
        assert first["total_breakthroughs"] == 0 and np.isnan(first["breakthrough_rate"])
    else:  # Mesa 3.3: row k is taken for step k, so quarter k shows as Step k - 1
        assert [row["Step"] for row in rows] == list(range(8))
        rest = rows
    assert [row["year"] for row in rest] == quarters["year"].tolist()
    assert [row["breakthroughs"] for row in rest] == quarters["breakthroughs"].tolist()


def test_batch_run_without_a_seed_warns_that_it_is_neither_reproducible_nor_paired():
    levers = {"n_researchers": 50, "years": 0.5, "burn_in_years": 0}
    with pytest.warns(UserWarning, match="neither reproducible nor paired"):
        batch_run(levers, None, max_steps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch_run(levers, [1], max_steps=10)


def test_a_replaced_datacollector_leaves_run_metrics_intact():
    model = ResearchModel(seed=2, n_researchers=60, years=1)
    model.datacollector = mesa.DataCollector(model_reporters={"n": lambda m: len(m.agents)})
    model.run()
    assert model.run_metrics()["breakthrough_rate"] >= 0
    assert len(model.datacollector.get_model_vars_dataframe()) == 4
    assert len(model.timeseries()) == 4


def test_the_datacollector_holds_the_same_rows_read_at_every_step_or_only_at_the_end():
    """Its columns are filled when read: read at the end, or with a user's reporter added
    half-way (which Mesa collects step by step), they hold what reading every step gives."""
    levers = {"n_researchers": 150, "years": 2}
    every_step = ResearchModel(seed=6, **levers)
    while every_step.running:
        every_step.step()
        every_step.datacollector.get_model_vars_dataframe()
    at_end = ResearchModel(seed=6, **levers).run()
    expected = every_step.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(at_end.datacollector.get_model_vars_dataframe(), expected)

    with_reporter = ResearchModel(seed=6, **levers)
    for _ in range(3):
        with_reporter.step()
    with_reporter.datacollector._new_model_reporter("quarter", lambda m: m.quarter)
    with_reporter.datacollector.model_vars["quarter"] = [None] * (3 + RECORDS_TIMES)
    with_reporter.run()
    collected = with_reporter.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(collected.drop(columns="quarter"), expected)
    assert collected["quarter"].iloc[-1] == with_reporter.quarter
