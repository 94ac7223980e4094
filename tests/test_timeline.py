"""Dated events change levers at their calendar year; steps are quarters."""

from sim import Event, ResearchModel


def test_events_apply_at_their_year_and_not_before():
    events = [Event(2020.0, "oversight.intensity", 0.9), Event(2021.5, "technocrat_share", 0.1)]
    model = ResearchModel(
        seed=1, n_researchers=100, **{"run.start_year": 2018.0}, years=5, timeline=events
    )
    seen = {}
    while model.running:
        model.step()
        seen[model.year] = (model.p.oversight.intensity, model.p.leadership.technocrat_share)
    assert seen[2019.75][0] == 0.3
    assert seen[2020.0][0] == 0.9
    assert seen[2021.25][1] == 0.4
    assert seen[2021.5][1] == 0.1


def test_timeline_can_be_given_as_plain_dicts_and_shows_in_outputs():
    events = [{"year": 2016.0, "key": "oversight.intensity", "value": 1.0}]
    model = ResearchModel(seed=1, n_researchers=200, years=2, timeline=events).run()
    ts = model.timeseries()
    before = ts[ts.year < 2016]["research_time_share"]
    after = ts[ts.year >= 2016]["research_time_share"]
    assert before.max() < 1.0 and after.max() < before.min()


def test_a_changed_evaluation_window_is_used_from_its_date():
    events = [Event(2016.0, "evaluation_window_years", 6.0)]
    model = ResearchModel(
        seed=1, n_researchers=100, years=2, timeline=events, evaluation_window_years=1.0
    ).run()
    assert model.mechanism("incentives").record.window == 24
