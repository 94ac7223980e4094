"""Researchers are Mesa agents to the user; Mesa's tools work; models do not leak."""

import gc
import weakref

import mesa
import numpy as np

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
    assert len(df) == 4 and "breakthrough_rate" in df
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
