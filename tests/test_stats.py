"""Statistics against known answers: coverage, exact constants, edge cases, pairing gains."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import stats


def test_mean_of_constants_is_exact_with_a_zero_width_interval():
    estimate = stats.mean_ci([7.25] * 12)
    assert (estimate.mean, estimate.ci_low, estimate.ci_high, estimate.n) == (7.25, 7.25, 7.25, 12)


def test_single_value_has_no_interval_and_empty_input_has_no_mean():
    single = stats.mean_ci([3.0])
    assert single.mean == 3.0 and single.n == 1
    assert math.isnan(single.ci_low) and math.isnan(single.ci_high)
    empty = stats.mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_nans_are_dropped_and_counted_out_of_n():
    estimate = stats.mean_ci([1.0, np.nan, 3.0, 2.0])
    assert estimate.n == 3 and estimate.mean == pytest.approx(2.0)


def test_interval_is_reproducible():
    values = np.random.default_rng(5).exponential(size=15)
    assert stats.mean_ci(values) == stats.mean_ci(values)


def test_interval_covers_a_known_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    true_mean, trials = 10.0, 300
    covered = 0
    for _ in range(trials):
        estimate = stats.mean_ci(rng.normal(true_mean, 3.0, size=40), n_resamples=999)
        covered += estimate.ci_low <= true_mean <= estimate.ci_high
    # Binomial(300, 0.95) lies in [0.91, 0.98] with probability > 0.99; bootstrap intervals
    # run slightly narrow, so a coverage of 0.92-0.94 is expected.
    assert 0.90 <= covered / trials <= 0.98


def test_interval_width_matches_the_normal_theory_width():
    values = np.random.default_rng(7).normal(0.0, 2.0, size=400)
    estimate = stats.mean_ci(values)
    normal_width = 2 * 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert estimate.ci_width == pytest.approx(normal_width, rel=0.1)


def test_pairing_on_shared_noise_narrows_the_interval_and_finds_the_effect():
    rng = np.random.default_rng(11)
    seeds = np.arange(100, 130)
    shared = rng.normal(0.0, 10.0, seeds.size)  # the part of the outcome both arms share
    reference = pd.Series(shared + rng.normal(0.0, 0.5, seeds.size), index=seeds)
    arm = pd.Series(shared + 2.0 + rng.normal(0.0, 0.5, seeds.size), index=seeds)
    contrast = stats.paired_contrast(reference, arm.sample(frac=1.0, random_state=1))
    assert contrast.n_pairs == 30 and contrast.n_reference == 30 and contrast.n_arm == 30
    assert contrast.ci_low <= 2.0 <= contrast.ci_high
    assert contrast.excludes_zero
    assert contrast.unpaired_ci_low < 0 < contrast.unpaired_ci_high  # unpaired cannot tell
    assert contrast.pairing_gain > 5


def test_pairing_does_not_help_independent_arms():
    rng = np.random.default_rng(12)
    seeds = np.arange(40)
    reference = pd.Series(rng.normal(0.0, 1.0, 40), index=seeds)
    arm = pd.Series(rng.normal(1.0, 1.0, 40), index=seeds)
    contrast = stats.paired_contrast(reference, arm)
    assert 0.7 < contrast.pairing_gain < 1.4


def test_contrast_pairs_only_shared_seeds_and_rejects_duplicates():
    reference = pd.Series([1.0, 2.0, 3.0, 4.0], index=[1, 2, 3, 4])
    arm = pd.Series([3.0, 4.0, 5.0], index=[2, 3, 9])
    contrast = stats.paired_contrast(reference, arm)
    assert contrast.n_pairs == 2 and contrast.difference == pytest.approx(1.0)
    assert (contrast.ci_low, contrast.ci_high) == (1.0, 1.0)
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired_contrast(pd.Series([1.0, 2.0], index=[1, 1]), arm)


def _grid(rng):
    rows = []
    for weight in (0.2, 0.8):
        for seed in range(10):
            noise = rng.normal()
            rows.append({"w": weight, "seed": seed, "y": 10 - 5 * weight + seed + 0.1 * noise})
    return pd.DataFrame(rows)


def test_summary_and_contrast_tables_give_known_means_and_differences():
    replicates = _grid(np.random.default_rng(3))
    summary = stats.summarize(replicates, ["w"], ["y"])
    assert list(summary["w"]) == [0.2, 0.8] and list(summary["n"]) == [10, 10]
    assert summary["mean"].to_numpy() == pytest.approx([9 + 4.5, 6 + 4.5], abs=0.1)
    table = stats.contrasts(replicates, ["w"], ["y"], reference=(0.2,))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["difference"] == pytest.approx(-3.0, abs=0.1)
    assert row["ci_low"] < -3.0 + 0.2 and row["ci_high"] > -3.0 - 0.2
    assert row["pairing_gain"] > 10  # the seed effect dominates and is shared


def test_default_reference_prefers_model_defaults():
    replicates = pd.DataFrame({"a": [0.1, 0.7, 0.1, 0.7], "b": [1, 1, 2, 2], "seed": 0})
    assert stats.default_reference(replicates, ["a", "b"], {"a": 0.7}) == (0.7, 1)


def test_timeseries_bands_average_bins_per_replicate_before_the_bootstrap():
    rows = [
        {"arm": "x", "seed": s, "year": 2020 + q / 4, "rate": 4.0 * q + s}
        for s in range(5)
        for q in range(8)
    ]
    bands = stats.timeseries_bands(pd.DataFrame(rows), ["arm"], "rate", bin_years=1.0)
    assert list(bands["time"]) == [2020.5, 2021.5]
    assert list(bands["n"]) == [5, 5]
    assert bands["mean"].to_numpy() == pytest.approx([6.0 + 2.0, 22.0 + 2.0])


def test_paired_timeseries_difference_recovers_a_shift_after_a_date():
    rng = np.random.default_rng(4)
    rows = []
    for seed in range(12):
        level = rng.normal(0, 5)
        for q in range(16):
            year = 2020 + q / 4
            for shock in (False, True):
                value = level + rng.normal(0, 0.1) - (3.0 if shock and year >= 2022 else 0.0)
                rows.append({"shock": shock, "seed": seed, "year": year, "rate": value})
    diff = stats.paired_timeseries_difference(pd.DataFrame(rows), "shock", True, False, "rate")
    before, after = diff[diff["time"] < 2022], diff[diff["time"] > 2022]
    assert (before["ci_low"] < 0).all() and (before["ci_high"] > 0).all()
    assert (after["ci_high"] < -2.5).all() and (after["n"] == 12).all()


def _replicates(rows):
    return pd.DataFrame(rows, columns=["shock", "support", "seed", "y"])


def test_lever_effects_skip_settings_where_a_lever_does_nothing():
    """Self-reliance support matters only under the shock: its effect is read there."""
    rows = []
    for seed in range(8):
        base = 10.0 + seed
        for shock in (False, True):
            for support in (0.0, 1.0):
                y = base - (4.0 - 1.5 * support if shock else 0.0) + 0.01 * seed * support * shock
                rows.append([shock, support, seed, y])
    replicates = _replicates(rows)
    effects = stats.lever_effects(replicates, ["shock", "support"], (False, 0.0), ["y"])
    by_lever = {}
    for effect in effects:
        by_lever.setdefault(effect["lever"], []).append(effect)
    shock_at_0, shock_at_1 = by_lever["shock"]  # two settings of support: both reported
    assert shock_at_0["contrasts"]["y"].difference == pytest.approx(-4.0)
    assert shock_at_1["contrasts"]["y"].difference == pytest.approx(-2.5, abs=0.05)
    (support,) = by_lever["support"]
    assert support["context"] == {"shock": True}
    assert support["identical_at"] == [{"shock": False}]
    assert support["contrasts"]["y"].difference == pytest.approx(1.5, abs=0.05)


def test_lever_effects_compare_each_category_with_the_reference():
    rows = [
        [name, seed, seed + shift]
        for seed in range(6)
        for name, shift in (("balanced", 0.0), ("count_heavy", -2.0), ("hhmi_like", 3.0))
    ]
    replicates = pd.DataFrame(rows, columns=["regime", "seed", "y"])
    effects = stats.lever_effects(replicates, ["regime"], ("balanced",), ["y"])
    assert [(e["low"], e["high"]) for e in effects] == [
        ("balanced", "count_heavy"),
        ("balanced", "hhmi_like"),
    ]
    assert [e["contrasts"]["y"].difference for e in effects] == pytest.approx([-2.0, 3.0])
