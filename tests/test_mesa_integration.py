"""Researchers are Mesa agents to the user; Mesa's tools work; models do not leak."""

import gc
import inspect
import weakref

import mesa
import numpy as np
import pytest

from sim import Researcher, ResearchModel


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
    assert len(df) == 4 and "quarterly_breakthrough_rate" in df
    collector = mesa.DataCollector(agent_reporters={"share": "exploratory_share"})
    collector.collect(model)
    assert len(collector.get_agent_vars_dataframe()) == 40


def test_batch_run_sweeps_keyword_levers():
    results = mesa.batch_run(
        ResearchModel,
        parameters={"n_researchers": 60, "publication_weight": [0.2, 0.8], "years": 1},
        max_steps=10,
        number_processes=1,
        display_progress=False,
    )
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
    """Mesa's batch_run collects the step metrics; summed up as declared, they give exactly
    `run_metrics()`, and no step metric shares a run metric's name."""
    from sim import METRICS

    steps = {"n_researchers": 200, "years": 2, "publication_weight": 0.9}
    # Mesa 3.5 seeds through batch_run's `rng` argument, Mesa 3.3 through the parameters
    if "rng" in inspect.signature(mesa.batch_run).parameters:
        parameters, seeding = steps, {"rng": [11]}
    else:
        parameters, seeding = {**steps, "seed": 11}, {}
    rows = mesa.batch_run(
        ResearchModel,
        parameters=parameters,
        **seeding,
        max_steps=100,
        data_collection_period=1,
        number_processes=1,
        display_progress=False,
    )
    expected = ResearchModel(seed=11, **steps).run().run_metrics()
    series = {name: [row[name] for row in rows] for name in rows[0]}
    collected = set(series) - {*steps, "seed", "rng", "RunId", "iteration", "Step"}
    assert collected and not set(METRICS.run_names) & collected
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


def test_a_replaced_datacollector_leaves_run_metrics_intact():
    model = ResearchModel(seed=2, n_researchers=60, years=1)
    model.datacollector = mesa.DataCollector(model_reporters={"n": lambda m: len(m.agents)})
    model.run()
    assert model.run_metrics()["breakthrough_rate"] >= 0
    assert len(model.datacollector.get_model_vars_dataframe()) == 4
    assert len(model.timeseries()) == 4
