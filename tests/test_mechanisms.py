"""Each mechanism on its own, against its formula."""

import numpy as np
import pytest
from scipy import stats

from sim import (
    ResearchModel,
    careers,
    collaboration,
    export_controls,
    funding,
    guanxi,
    incentives,
    oversight,
    production,
    with_overrides,
)
from sim.metrics import allocation_efficiency, gini

RNG = np.random.default_rng(0)


def test_stochastic_rounding_gives_whole_counts_with_the_exact_mean():
    expected = np.full(200_000, 2.3)
    counts = production.stochastic_round(expected, RNG.random(expected.size))
    assert set(np.unique(counts)) == {2.0, 3.0}
    assert counts.mean() == pytest.approx(2.3, abs=0.01)


def test_incremental_breakthrough_chance_is_the_lognormal_tail():
    p = with_overrides(publication_weight=0.0)  # no paper splitting
    ability = np.array([0.5, 1.0, 3.0])
    sigma, threshold = p.production.incremental_impact_sigma, p.production.breakthrough_threshold
    tail = stats.lognorm(s=sigma, scale=ability * np.exp(-(sigma**2) / 2)).sf(threshold)
    np.testing.assert_allclose(production.incremental_breakthrough_chance(ability, p), tail)


def test_paper_splitting_multiplies_papers_and_divides_impact_per_paper():
    p = with_overrides(publication_weight=1.0, paper_splitting=0.5)
    assert incentives.splitting_factor(p) == 1.5
    q = with_overrides(publication_weight=0.0, paper_splitting=0.5)
    ratio = (
        production.incremental_breakthrough_chance(np.array([1.0]), p)[0]
        / (production.incremental_breakthrough_chance(np.array([1.0]), q)[0])
    )
    assert ratio < 1


def test_project_impact_is_pareto_with_the_configured_scale_and_tail():
    p = with_overrides(project_impact_scale=10.0, project_impact_alpha=2.0)
    impact = production.project_impact(np.ones(100_000), RNG.random(100_000), p)
    assert impact.min() >= 10.0
    assert (impact > 20.0).mean() == pytest.approx(0.5**2.0, abs=0.01)


def test_project_effort_and_recognition_delay_are_exponential_with_the_configured_means():
    p = with_overrides(project_effort_years=2.0, recognition_delay_years=4.0)
    u = RNG.random(200_000)
    assert production.project_effort(u, p).mean() == pytest.approx(2.0, rel=0.02)
    assert production.recognition_delay(u, p).mean() == pytest.approx(4.0, rel=0.02)


def test_expected_paper_counts_in_the_model():
    """No exploration, no oversight, equal funding, ability 1: papers/year = rate x splitting."""
    neutral = {
        "ability_sigma": 0.0,
        "institution_wealth_sigma": 0.0,
        "initial_exploratory_share": 0.0,
        "initial_exploratory_spread": 0.0,
        "oversight.intensity": 0.0,
        "funding_steepness": 0.0,
        "paper_boost": 0.0,
        "imitation_per_year": 0.0,
        "imitation_noise": 0.0,  # newcomers (retirement) copy a mentor's share of exactly 0
        "exit_per_year": 0.0,
        "publication_weight": 0.5,
        "paper_splitting": 0.4,
        "papers_per_year": 3.0,
        "other_duties": 0.0,
        "years": 5,
        "burn_in_years": 0,  # the status quo's unequal funding would outlast the reform a while
    }
    metrics = ResearchModel(seed=3, n_researchers=2000, **neutral).run().run_metrics()
    assert metrics["papers_per_researcher_year"] == pytest.approx(3.0 * 1.2, rel=0.01)
    assert metrics["mean_exploratory_share"] == 0.0


def test_evaluation_scores_weigh_counts_against_impact():
    papers = np.array([1.0, 2.0, 3.0])
    impact = np.array([30.0, 2.0, 1.0])
    p = with_overrides(publication_weight=1.0)
    assert np.argmax(incentives.scores(incentives.merits(papers, impact, p), 0.0)) == 2
    p = with_overrides(publication_weight=0.0)
    assert np.argmax(incentives.scores(incentives.merits(papers, impact, p), 0.0)) == 0


def test_record_counts_only_the_last_window_of_steps():
    record = incentives.Record(n=2, capacity=6, window=3)
    for step in range(1, 6):
        record.add(np.array([step, 0.0]), np.array([0.0, 10.0 * step]))
    papers, impact = record.totals()
    assert papers.tolist() == [3 + 4 + 5, 0]
    assert impact.tolist() == [0, 10 * (3 + 4 + 5)]
    record.set_window(5)
    assert record.totals()[0][0] == 15


def test_records_are_rates_per_year_in_post():
    """A newcomer in post for one year is judged on that year, not on a three-year window."""
    record = incentives.Record(n=2, capacity=12, window=12)
    for step in range(12):
        if step == 8:
            record.clear(np.array([1]))  # a newcomer takes post 1 for the last four quarters
        record.add(np.array([1.0, 1.0]), np.array([2.0, 2.0]))
    papers, impact = record.rates()
    assert papers.tolist() == [4.0, 4.0]  # one paper a quarter: four a year, for both
    assert impact.tolist() == [8.0, 8.0]
    record.clear(np.array([0]))
    assert record.rates()[0][0] == 0.0  # nothing in post yet: no rate, no division by zero


def test_funding_has_mean_one_and_follows_score_and_weight():
    score = np.array([-1.0, 0.0, 1.0])
    p = with_overrides(funding_steepness=1.0)
    f = funding.funding(score, np.ones(3), p)
    assert f.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(f[2] / f[1], np.e)
    assert funding.funding(score, np.array([1.0, 1.0, 2.0]), p)[2] > f[2]


def test_exit_takes_exactly_the_lowest_fraction():
    score = RNG.standard_normal(1000)
    leavers = careers.lowest(score, 0.05, RNG.random(1000))
    assert leavers.size == 50
    assert score[leavers].max() < np.sort(score)[50]


def test_equal_scores_at_the_cut_leave_by_chance_not_by_place():
    # 30 clearly lowest, then 970 equal scores (no record, no favour) for the other 20 exits
    score = np.r_[np.full(30, -1.0), np.zeros(970)]
    u_tie = RNG.random(1000)
    leavers = careers.lowest(score, 0.05, u_tie)
    tied = np.arange(30, 1000)
    chosen = tied[np.argsort(u_tie[tied])[:20]]
    np.testing.assert_array_equal(np.sort(leavers), np.r_[np.arange(30), np.sort(chosen)])


def test_exit_per_year_in_the_model_replaces_that_share_each_evaluation():
    no_retirement = {"career_years": 1e9, "burn_in_years": 0}
    model = ResearchModel(seed=1, n_researchers=1000, exit_per_year=0.1, years=1, **no_retirement)
    model.run()  # one evaluation
    assert (model.researchers.person_id >= 1000).sum() == 100
    # two evaluations half a year apart remove the same share in the year
    model = ResearchModel(
        seed=1,
        n_researchers=1000,
        exit_per_year=0.1,
        years=1,
        evaluation_interval_years=0.5,
        **no_retirement,
    )
    model.run()
    assert model.people_hired - 1000 == 2 * round(1000 * (1 - 0.9**0.5))


def test_careers_end_at_the_configured_mean_length():
    """With no exit by score, a share 1 - (1 - 1/career_years)^t retire within t years."""
    model = ResearchModel(
        seed=2, n_researchers=5000, exit_per_year=0.0, career_years=10.0, years=5, burn_in_years=0
    ).run()
    left = (model.researchers.person_id >= 5000).mean()
    assert left == pytest.approx(1 - 0.9**5, abs=0.02)


def test_choice_by_funding_is_proportional_to_funding():
    funding = np.array([1.0, 3.0])
    picks = careers.choose_by_funding(funding, RNG.random(100_000))
    assert (picks == 1).mean() == pytest.approx(0.75, abs=0.01)


def test_imitation_copies_only_better_scoring_peers():
    p = with_overrides(imitation_per_year=1.0, imitation_noise=0.0)
    share = np.array([0.1, 0.9])
    score = np.array([0.0, 1.0])
    funding = np.array([1.0, 1.0])
    new = careers.imitate(
        share, score, funding, np.zeros(2), np.array([0.9, 0.1]), np.full(2, 0.5), p, 1.0
    )
    assert new.tolist() == [0.9, 0.9]  # the worse copies the better; the better keeps its own


def test_refusal_probability_formula_and_favours():
    p = with_overrides(max_rejection=0.6, priority_favor=0.5, loyalty_favor=1.0, merit_favor=0.5)
    o = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    aligned = np.array([False, True, False, False, False])
    standing = np.array([0.5, 0.5, 1.0, 1.0, 0.0])
    on_merit = np.array([False, False, False, True, False])
    refusal = oversight.refusal_probability(o, aligned, standing, on_merit, p)
    # the average rank leaves the chance as it is; the top rank cuts it by the criterion's favour
    np.testing.assert_allclose(refusal, [0.6, 0.3, 0.0, 0.3, 0.0])


def test_approval_criteria_move_who_is_approved_not_how_many():
    """Ranks are uniform, so the mean refusal is the same under either criterion."""
    p = with_overrides(max_rejection=0.6, loyalty_favor=0.8, merit_favor=0.8)
    ties = guanxi.draw_ties(RNG.random(100_000), 3.0)
    tie_rank = oversight.tie_rank(ties, with_overrides(tie_concentration=3.0))
    merit_rank = oversight.merit_rank(RNG.standard_normal(100_000))
    on_ties = oversight.refusal_probability(1.0, False, tie_rank, False, p)
    on_merit = oversight.refusal_probability(1.0, False, merit_rank, True, p)
    assert on_ties.mean() == pytest.approx(0.6, abs=0.005)
    assert on_merit.mean() == pytest.approx(0.6, abs=0.001)


def test_approval_in_rounds_matches_the_refusal_formula_and_costs_a_wait():
    """All want to explore; at intensity 1 half the proposals are refused at each round."""
    p = {
        "oversight.intensity": 1.0,
        "max_rejection": 0.5,
        "priority_favor": 0.0,
        "loyalty_favor": 0.0,
        "merit_favor": 0.0,
        "merged_share": 0.0,
        "initial_exploratory_share": 1.0,
        "initial_exploratory_spread": 0.0,
        "round_interval_years": 0.5,
        "burn_in_years": 0,
        "years": 0.25,
    }
    model = ResearchModel(seed=2, n_researchers=20_000, **p).run()
    assert model.researchers.project_active.mean() == 0.0  # the first round is after 2 quarters
    model = ResearchModel(seed=2, n_researchers=20_000, **{**p, "years": 0.5}).run()
    assert model.researchers.project_active.mean() == pytest.approx(0.5, abs=0.015)
    assert model.run_metrics()["approval_rate"] == pytest.approx(0.5, abs=0.015)


def test_a_reshaped_project_loses_impact():
    """Every proposal refused once and reshaped, then approved: impact x (1 - reshape_cost)."""
    base = {
        "papers_per_year": 0.0,
        "initial_exploratory_share": 1.0,
        "initial_exploratory_spread": 0.0,
        "project_success": 1.0,
        "recognition_delay_years": 0.0,
        "exit_per_year": 0.0,
        "career_years": 1e9,
        "imitation_per_year": 0.0,
        "funding_steepness": 0.0,
        "burn_in_years": 0,
        "years": 4,
        "reshape_chance": 1.0,
    }
    free = ResearchModel(seed=4, n_researchers=500, **{"oversight.intensity": 0.0}, **base)
    free.run()
    # refused at every round unless aligned with a priority: then always approved
    strict = {"oversight.intensity": 1.0, "max_rejection": 1.0, "priority_favor": 1.0}
    strict |= {"loyalty_favor": 0.0, "merit_favor": 0.0, "max_time_cost": 0.0}
    for cost in (0.0, 0.5):
        model = ResearchModel(seed=4, n_researchers=500, reshape_cost=cost, **strict, **base)
        model.run()
        r = model.researchers
        nonpriority = ~model.fields.priority[r.field]
        assert r.project_reshaped[nonpriority & r.project_active].all()
        if cost == 0.0:
            unreshaped = r.impact[nonpriority].sum()
    assert r.impact[nonpriority].sum() < 0.75 * unreshaped
    assert (
        free.run_metrics()["waiting_years_per_project"]
        < (model.run_metrics()["waiting_years_per_project"])
    )


def test_oversight_takes_research_time_and_merging_amplifies_it():
    p = with_overrides(
        **{
            "oversight.intensity": 0.5,
            "max_time_cost": 0.2,
            "merged_amplification": 1.0,
            "other_duties": 0.0,
        }
    )
    intensity = oversight.institution_intensity(np.array([False, True]), p)
    np.testing.assert_allclose(intensity, [0.5, 1.0])
    np.testing.assert_allclose(oversight.research_time(intensity, p), [0.9, 0.8])


def test_centralization_favours_priority_fields_less_under_technocrats():
    p = with_overrides(
        **{"oversight.intensity": 0.5, "centralization": 1.0, "technocratic_concentration": 0.4}
    )
    weight = oversight.priority_funding_weight(np.array([False, True]), p)
    np.testing.assert_allclose(weight, [1.5, 1.2])
    same = with_overrides(funding_differs=False, **{"oversight.intensity": 0.5})
    assert len(set(oversight.priority_funding_weight(np.array([False, True]), same))) == 1


def test_export_controls_hit_exposed_fields_from_the_start_date_and_recover_partly():
    p = with_overrides(
        **{
            "export_controls.enabled": True,
            "export_controls.start_year": 2022.75,
            "severity": 0.8,
            "self_reliance_funding": 0.0,
        }
    )
    exposure = np.array([1.0, 0.5, 0.0])
    assert export_controls.input_loss(2022.5, exposure, p).tolist() == [0, 0, 0]
    np.testing.assert_allclose(export_controls.input_loss(2023, exposure, p), [0.8, 0.4, 0.0])
    q = with_overrides(p, self_reliance_funding=1.0, max_recovery=0.5, substitution_years=4.0)
    np.testing.assert_allclose(export_controls.input_loss(2026.75, exposure, q), [0.4, 0.2, 0.0])
    weight = export_controls.self_reliance_weight(
        2023, np.array([True, True]), np.array([True, False]), q
    )
    np.testing.assert_allclose(weight, [2.0, 1.0])


def test_collaboration_formation_and_dissolution_rates():
    p = with_overrides(formation_per_year=0.4, dissolution_per_year=0.2, distrust=0.5)
    n = 200_000
    u = RNG.random(n)
    formed = collaboration.update(np.zeros(n, bool), np.full(n, 1.0), np.zeros(n), u, p, 0.25)
    assert formed.mean() == pytest.approx(0.4 * 0.25 * 0.5, abs=0.003)
    kept = collaboration.update(np.ones(n, bool), np.zeros(n), np.full(n, 0.5), u, p, 0.25)
    assert 1 - kept.mean() == pytest.approx(0.2 * 0.25 * 1.5, abs=0.003)


def test_guanxi_ties_are_beta_and_favoritism_is_damped_under_technocrats():
    ties = guanxi.draw_ties(RNG.random(200_000), 3.0)
    assert ties.mean() == pytest.approx(stats.beta(1, 3).mean(), abs=0.003)
    p = with_overrides(**{"guanxi.weight": 2.0, "technocratic_damping": 0.25})
    bonus = guanxi.favoritism(np.array([0.5, 0.5]), np.array([False, True]), p)
    np.testing.assert_allclose(bonus, [1.0, 0.25])


def test_leadership_turnover_rate_and_technocrat_share():
    from sim import leadership

    p = with_overrides(turnover_per_year=0.5, technocrat_share=0.3)
    rng = np.random.default_rng(1)
    start = np.zeros(100_000, dtype=bool)
    new, changed = leadership.turnover(start, rng, p, dt=1.0)
    assert changed.mean() == pytest.approx(0.5, abs=0.01)
    assert new[changed].mean() == pytest.approx(0.3, abs=0.01)
    assert not new[~changed].any()


def test_delayed_recognition():
    """Breakthroughs count when made; their impact reaches the record only after the delay."""
    base = {
        "papers_per_year": 0.0,
        "initial_exploratory_share": 1.0,
        "initial_exploratory_spread": 0.0,
        "project_success": 1.0,
        "oversight.intensity": 0.0,
        "exit_per_year": 0.0,
        "imitation_per_year": 0.0,
        "funding_steepness": 0.0,
        "years": 6,
        "burn_in_years": 0,
    }
    late = ResearchModel(seed=4, n_researchers=500, recognition_delay_years=20.0, **base).run()
    soon = ResearchModel(seed=4, n_researchers=500, recognition_delay_years=0.0, **base).run()
    total = "total_breakthroughs"
    assert late.run_metrics()[total] == soon.run_metrics()[total] > 0
    # With an exponential delay of mean 20 years, at most 1 - exp(-6 / 20) = 26% of the impact
    # made in a 6-year run can be recognized within it; with no delay, all of it is.
    assert late.researchers.impact.sum() < 0.3 * soon.researchers.impact.sum()


def test_gini_and_allocation_efficiency():
    assert gini(np.ones(10)) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    ability = np.exp(RNG.standard_normal(1000))
    assert allocation_efficiency(ability**2, ability) == pytest.approx(1.0)
    assert allocation_efficiency(np.ones(1000), ability) == 0.0


def test_recognition_queue_releases_impact_when_due_in_the_order_made():
    queue = production.RecognitionQueue()
    queue.push(np.array([3, 1, 3]), np.array([0, 1, 2]), np.array([10, 11, 12]), np.ones(3))
    queue.push(np.array([3]), np.array([5]), np.array([15]), np.ones(1))
    assert queue.pop(0)[0].size == 0
    assert queue.pop(1)[0].tolist() == [1]
    slot, person, _ = queue.pop(3)
    assert slot.tolist() == [0, 2, 5] and person.tolist() == [10, 12, 15]
    assert queue.items.size == 0


def test_export_controls_cut_what_a_foreign_collaborator_contributes():
    """Those who work with a foreign collaborator lose more than their field (Aghion et al.)."""
    p = with_overrides(paper_boost=0.2, success_boost=0.3, project_success=0.5)
    loss = np.array([0.0, 0.5])
    with_partner = production.output_boost(True, loss, p)
    np.testing.assert_allclose(with_partner, [1.2, 1.1])
    assert production.output_boost(False, loss, p).tolist() == [1.0, 1.0]
    chance = production.success_chance(np.array([True, False]), 0.5, p)
    np.testing.assert_allclose(chance, [0.5 * 1.15 * (1 - 0.8 * 0.5), 0.5 * (1 - 0.8 * 0.5)])


def test_a_run_starts_warm_after_the_burn_in():
    """Projects are under way and records are full at the first recorded step, not at zero."""
    small = {"n_researchers": 500, "years": 1}
    warm = ResearchModel(seed=1, **small)
    cold = ResearchModel(seed=1, burn_in_years=0, **small)
    assert warm.researchers.project_active.mean() > 0.1
    assert not cold.researchers.project_active.any()
    assert warm.year_end == cold.year_end == 2015.0  # the recorded run starts at start_year
    warm.run()
    cold.run()
    # projects under way yield papers from the first year (most papers, at the defaults)
    warm_papers, cold_papers = (m.run_metrics()["papers_per_researcher_year"] for m in (warm, cold))
    assert warm_papers > cold_papers


def test_the_burn_in_runs_the_status_quo_and_the_runs_levers_apply_at_the_start():
    """Arms on one seed share their history up to the start, then differ by their levers."""
    small = {"seed": 1, "n_researchers": 200, "years": 1}
    status_quo = ResearchModel(**small)
    reform = ResearchModel(**small, **{"oversight.intensity": 0.9, "publication_weight": 0.1})
    for state in ("ability", "exploratory_share", "project_active", "foreign", "score"):
        a, b = getattr(status_quo.researchers, state), getattr(reform.researchers, state)
        np.testing.assert_array_equal(a, b, err_msg=state)
    assert reform.p.oversight.intensity == 0.9 and reform.p.incentives.publication_weight == 0.1
    assert reform.researchers.research_time.mean() < status_quo.researchers.research_time.mean()


def test_a_given_status_quo_is_what_the_burn_in_runs():
    """A calibrated lever (here oversight) must shape the history too: with it as the status
    quo, the burn-in runs it, so the arms no longer share the default history."""
    small = {"seed": 1, "n_researchers": 200, "years": 1}
    lever = {"oversight.intensity": 0.9}
    default_history = ResearchModel(**small, **lever)
    own_history = ResearchModel(**small, **lever, status_quo=with_overrides(**lever))
    assert own_history.p.oversight.intensity == 0.9
    papers = [m.researchers.papers.sum() for m in (default_history, own_history)]
    assert papers[1] < papers[0]  # less research time through the whole burn-in


@pytest.mark.parametrize("n", [0, 1, 2, 7, 2000])
def test_average_ranks_are_scipys_value_for_value(n):
    """Merit ranks set who is refused; they must not move when the ranking code changes."""
    from sim.oversight import average_ranks

    rng = np.random.default_rng(n)
    for x in (rng.random(n), rng.integers(0, 4, n).astype(float), np.zeros(n)):
        ranks = average_ranks(x)
        assert ranks.dtype == np.float64
        np.testing.assert_array_equal(ranks, stats.rankdata(x))
