"""The paper cohort (sim/papers.py): its papers are production's, its memory is bounded, it is
reproducible, and routine papers reach the top 1% only when their impact is spread enough."""

import math

import numpy as np
import pytest

from experiments.studies.calibration import calibration
from sim import ResearchModel
from sim.mechanism import steps_for
from sim.papers import EXPLORATORY, ROUTINE, routine_impacts, top_shares

SMALL = {"n_researchers": 300, "n_institutions": 10, "burn_in_years": 2}


# At the calibrated defaults exploratory projects yield most papers; tests of routine papers'
# top tail use the production of the calibration before issue 23, where routine work yields more.
ROUTINE_YIELDS_MORE = {
    "papers_per_year": 0.19,
    "project_papers": 0.344,
    "ability_sigma": 0.84,
    "project_success": 0.245,
    "project_impact_scale": 13.7,
    "paper_splitting": 0.304,
    "breakthrough_threshold": 380.0,
    "other_duties": 0.0,
    "max_time_cost": 0.25,
}


def run(seed=1, **levers):
    return ResearchModel(seed=seed, **(SMALL | levers)).run()


def cohort_of(model):
    return model.mechanism("production").cohort


def test_the_cohort_holds_the_papers_production_made_in_its_years():
    # a low threshold, a wide spread and routine work yielding most papers (the yields of the
    # calibration before issue 23), so that routine papers are breakthroughs too
    levers = {
        **ROUTINE_YIELDS_MORE,
        "years": 3,
        "paper_cohort_years": 2,
        "incremental_impact_sigma": 2.0,
        "breakthrough_threshold": 30.0,
    }
    model = run(**levers)
    cohort, history = cohort_of(model), model.timeseries()
    in_cohort = history.iloc[: steps_for(2)]
    routine, exploratory = cohort.papers_by_kind()
    assert routine + exploratory == pytest.approx(in_cohort["papers"].sum(), rel=1e-12)
    assert routine == int(routine) > 0 and exploratory > 0
    a = cohort.arrays()
    assert set(np.unique(a["made"])) <= set(range(cohort.first_step, cohort.last_step + 1))
    # the breakthroughs production counted are the cohort's papers above the threshold
    above = a["impact"] > 30.0
    exploratory_hits = in_cohort["exploratory_breakthroughs"].sum()
    assert (above & (a["kind"] == EXPLORATORY)).sum() == exploratory_hits
    routine_hits = in_cohort["breakthroughs"].sum() - exploratory_hits
    assert (above & (a["kind"] == ROUTINE)).sum() == routine_hits > 0


def test_the_cohort_is_bounded_and_reproducible():
    levers = {"paper_cohort_years": 1}
    short, long = run(years=2, **levers), run(years=6, **levers)
    a, b = cohort_of(short).arrays(), cohort_of(long).arrays()
    assert a["kind"].size == b["kind"].size > 0  # nothing is kept after the cohort's year
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    again = cohort_of(run(years=2, **levers)).arrays()
    for name in a:
        np.testing.assert_array_equal(a[name], again[name])
    assert cohort_of(run(years=2, **{"paper_cohort_years": 0})).arrays()["kind"].size == 0


def test_recording_papers_changes_no_other_output():
    with_cohort = run(years=2, **{"paper_cohort_years": 2}).run_metrics()
    without = run(years=2, **{"paper_cohort_years": 0}).run_metrics()
    assert with_cohort == without  # every figure (no window closes within 2 years)


@pytest.mark.parametrize("sigma, routine_hits", [(0.01, False), (3.0, True)])
def test_routine_papers_reach_the_top_only_with_a_wide_spread(sigma, routine_hits):
    levers = {"paper_cohort_years": 2, "incremental_impact_sigma": sigma, **ROUTINE_YIELDS_MORE}
    model = run(years=17, n_researchers=3000, **levers)  # a cohort of about 1,800 papers
    cohort, metrics = cohort_of(model), model.run_metrics()
    for window in (3.0, 15.0):
        routine, exploratory = cohort.top_shares(window)
        assert exploratory > 0
        assert (routine > 0) == routine_hits
        assert metrics[f"routine_top_share_{window:g}y"] == pytest.approx(routine, rel=1e-9)
        assert metrics[f"exploratory_top_share_{window:g}y"] == pytest.approx(exploratory)
        assert math.isfinite(cohort.hit_ratio(window)) == routine_hits


def test_a_window_is_reported_once_the_cohort_was_observed_that_long():
    model = run(years=5, **{"paper_cohort_years": 1})  # 3 years observed, not 15
    history, metrics = model.timeseries(), model.run_metrics()
    closes = steps_for(1) + steps_for(3)  # the step at whose end the 3-year window closes
    counted = history["cohort_routine_papers_3y"].to_numpy()
    assert np.flatnonzero(counted).tolist() == [closes - 1]
    assert counted[closes - 1] == cohort_of(model).papers_by_kind()[0]
    assert not history["cohort_routine_papers_15y"].any()
    assert metrics["exploratory_top_share_3y"] == cohort_of(model).top_shares(3.0)[1] > 0
    assert metrics["exploratory_top_share_15y"] == 0.0  # as every ratio of no papers
    assert math.isnan(cohort_of(model).hit_ratio(15.0))


def test_routine_impacts_follow_production_s_breakthroughs():
    rng = np.random.default_rng(0)
    papers = np.array([3, 0, 2, 1])
    hit = np.array([True, False, False, True])
    u = rng.random(papers.sum())
    impact = routine_impacts(np.ones(4), papers, hit, u, sigma=1.0, threshold=5.0)
    assert impact.size == 6
    np.testing.assert_array_equal(impact > 5.0, [True, False, False, False, False, True])
    many = rng.random(200_000)
    draws = routine_impacts(
        np.array([2.0]), np.array([many.size]), np.array([False]), many, 1.0, 1e9
    )
    assert draws.mean() == pytest.approx(2.0, rel=0.02)  # the log-normal's mean is a / k
    assert np.log(draws).std() == pytest.approx(1.0, rel=0.02)


def test_the_top_one_percent_is_by_rank_within_the_window():
    # 99 routine papers and one exploratory lead paper recognized after 4 years (16 steps)
    kind = np.array([ROUTINE] * 99 + [EXPLORATORY])
    weight = np.ones(100)
    impact = np.r_[np.linspace(1.0, 2.0, 99), 50.0]
    made = np.zeros(100, np.int64)
    due = np.r_[np.zeros(99, np.int64), 16]
    assert top_shares(kind, weight, impact, made, due, 3.0) == (1 / 99, 0.0)  # not yet
    assert top_shares(kind, weight, impact, made, due, 15.0) == (0.0, 1.0)


def test_the_calibration_statistic_reads_the_cohort():
    params = calibration.params_type()()
    params.population.n_researchers, params.population.n_institutions = 300, 10
    params.run.years, params.run.burn_in_years, params.production.paper_cohort_years = 4.0, 2.0, 1.0
    obs = {"baseline": calibration.observe(params, seed=3)}
    value = calibration.STATISTICS["paper_hit_ratio"](obs, "baseline", window_years=3.0)
    assert value == obs["baseline"].papers.hit_ratio(3.0)
    routine, exploratory = (
        calibration.paper_top_share(obs, "baseline", kind, window_years=3.0)
        for kind in ("routine", "exploratory")
    )
    assert (routine, exploratory) == obs["baseline"].papers.top_shares(3.0)
    assert exploratory == obs["baseline"].metrics["exploratory_top_share_3y"]
    assert math.isnan(calibration.paper_hit_ratio(obs, "baseline", window_years=15.0))
