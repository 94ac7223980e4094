"""The directional patterns of DESIGN section 3, each on paired seeds with a 95% CI.

Every comparison runs both arms on the same seeds (common random numbers) and asserts that the
95% confidence interval of the paired difference (Student t) lies on the expected side of zero.
"""

from functools import cache

import numpy as np
import pandas as pd
from scipy import stats

from sim import ResearchModel

N_RESEARCHERS = 800
SEEDS = range(12)
# At the calibrated paper scale breakthroughs are rare (about 4 per 1,000 researcher-years, 60
# a run at 800 researchers), so the claims about the breakthrough rate of small effects need
# more researcher-years to be told from seed noise.
LARGE = {"n_researchers": 4_000}
VERY_LARGE = {"n_researchers": 10_000, "seeds": range(20)}


@cache
def arm(levers: tuple, seeds: range = SEEDS, n_researchers: int = N_RESEARCHERS) -> pd.DataFrame:
    """Run metrics per seed, plus the post-shock exposed-field rate and collaboration share."""
    rows = []
    for seed in seeds:
        model = ResearchModel(seed=seed, n_researchers=n_researchers, **dict(levers)).run()
        ts = model.timeseries()
        after = ts[ts.year >= 2022.75]
        rows.append(
            model.run_metrics()
            | {
                "exposed_rate_after_shock": after["quarterly_breakthrough_rate_exposed"].mean(),
                "collaboration_after_shock": after["foreign_collaboration_share"].mean(),
                "initial_exploratory_share": ts["exploratory_share"].iloc[0],
            }
        )
    return pd.DataFrame(rows, index=list(seeds))


def paired_ci(base: dict, treated: dict, metric: str, **population):
    treated, base = (arm(tuple(levers.items()), **population) for levers in (treated, base))
    diff = treated[metric] - base[metric]
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return diff.mean() - half, diff.mean() + half


def assert_increases(base, treated, metric, **population):
    low, high = paired_ci(base, treated, metric, **population)
    assert low > 0, f"{metric}: paired 95% CI [{low:.3g}, {high:.3g}] does not lie above 0"


def assert_decreases(base, treated, metric, **population):
    low, high = paired_ci(base, treated, metric, **population)
    assert high < 0, f"{metric}: paired 95% CI [{low:.3g}, {high:.3g}] does not lie below 0"


# The seed accounts' premise for what counting papers does (Han Xueying: paper counts reward
# short-term, low-risk work): routine work yields more papers per year of work than exploratory
# projects. No target pins the two yields apart (docs/calibration.md), and the calibrated
# defaults have it the other way round, so the claims that rest on the premise are tested where
# it holds: at the yields of the calibration before issue 23 (routine 0.19 papers per FTE-year,
# a project 0.344 papers), the rest at the defaults; and the other way round at the yields of
# the first ABC-SMC fit (routine 0.111, a project 0.993).
ROUTINE_YIELDS_MORE = {"papers_per_year": 0.19, "project_papers": 0.344}
EXPLORATION_YIELDS_MORE = {"papers_per_year": 0.111, "project_papers": 0.993}


def test_more_weight_on_paper_counts_more_papers_less_exploration_fewer_breakthroughs():
    balanced, count_heavy = ({"publication_weight": w, **ROUTINE_YIELDS_MORE} for w in (0.2, 0.9))
    assert_increases(balanced, count_heavy, "papers_per_researcher_year")
    assert_decreases(balanced, count_heavy, "mean_exploratory_share")
    assert_decreases(balanced, count_heavy, "breakthrough_rate", **VERY_LARGE)


def test_counting_pushes_toward_whichever_work_yields_more_papers():
    """Where exploratory projects yield most papers, counting them raises exploration: the
    mechanism follows the yields (the first test has them the other way), not a built-in cost."""
    balanced, count_heavy = (
        {"publication_weight": w, **EXPLORATION_YIELDS_MORE} for w in (0.2, 0.9)
    )
    assert_increases(balanced, count_heavy, "mean_exploratory_share", **LARGE)


def test_long_failure_tolerant_evaluation_more_breakthroughs_and_more_flops():
    short = {"evaluation_window_years": 2.0, "failure_tolerance": 0.0}
    hhmi_like = {"evaluation_window_years": 7.0, "failure_tolerance": 0.8}
    assert_increases(short, hhmi_like, "breakthrough_rate", **LARGE)
    assert_increases(short, hhmi_like, "flop_rate")


def test_more_oversight_less_time_fewer_collaborations_fewer_breakthroughs_outside_priorities():
    none, strict = {"oversight.intensity": 0.0}, {"oversight.intensity": 0.9}
    assert_decreases(none, strict, "mean_research_time_share")
    assert_decreases(none, strict, "mean_foreign_collaboration_share")
    assert_decreases(none, strict, "breakthrough_rate_nonpriority")


def test_export_shock_cuts_exposed_fields_and_collaboration_and_self_reliance_recovers_part():
    no_shock = {"export_controls.enabled": False, "self_reliance_funding": 0.0}
    shock = {"export_controls.enabled": True, "self_reliance_funding": 0.0}
    shock_with_self_reliance = {"export_controls.enabled": True, "self_reliance_funding": 1.0}
    assert_decreases(no_shock, shock, "exposed_rate_after_shock")
    assert_decreases(no_shock, shock, "collaboration_after_shock")
    assert_increases(shock, shock_with_self_reliance, "exposed_rate_after_shock", **LARGE)
    assert_decreases(no_shock, shock_with_self_reliance, "exposed_rate_after_shock", **LARGE)


def test_more_guanxi_funding_tracks_ability_less_and_fewer_breakthroughs():
    seeds = range(40)
    merit, favoritism = {"guanxi.weight": 0.0}, {"guanxi.weight": 3.0}
    assert_decreases(merit, favoritism, "mean_allocation_efficiency", seeds=seeds)
    assert_decreases(merit, favoritism, "breakthrough_rate", seeds=seeds, **LARGE)


def test_turnover_and_imitation_under_count_heavy_evaluation_erode_exploration():
    count_heavy = {"publication_weight": 0.9, **ROUTINE_YIELDS_MORE}
    runs = arm(tuple(count_heavy.items()))
    change = runs["final_exploratory_share"] - runs["initial_exploratory_share"]
    half = stats.t.ppf(0.975, len(change) - 1) * change.std(ddof=1) / np.sqrt(len(change))
    assert change.mean() + half < 0, "exploration does not decline over the run"


def test_turnover_and_imitation_are_what_erode_exploration():
    count_heavy = {"publication_weight": 0.9, **ROUTINE_YIELDS_MORE}
    frozen = count_heavy | {"exit_per_year": 0.0, "imitation_per_year": 0.0}
    assert_decreases(frozen, count_heavy, "final_exploratory_share", seeds=range(30))


def test_a_longer_window_without_failure_tolerance_more_breakthroughs():
    """The evaluation window alone (issue: it was damped by a revolving door of newcomers); 20
    seeds, as in the committed experiments, since the effect is small against seed noise."""
    short, long = (
        {"evaluation_window_years": years, "failure_tolerance": 0.0} for years in (1.0, 5.0)
    )
    assert_increases(short, long, "breakthrough_rate", seeds=range(20), **LARGE)
