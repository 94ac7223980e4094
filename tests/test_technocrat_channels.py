"""The technocrat decomposition runs end to end on a small sweep, and every report tabulates the
breakthrough rate per period of the run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import decomposition
from experiments.present import figures, technocrat_channels
from experiments.studies.sweep import report

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "run.replicates=3",
    "population.n_researchers=200",
    "run.years=6",  # two periods: five years, then one
    "run.burn_in_years=1",
]


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    """`python -m experiments.headline technocrat_channels`, small, into a folder of its own."""
    out = tmp_path_factory.mktemp("technocrats") / "report"
    command = [sys.executable, "-m", "experiments.headline", "technocrat_channels", *SMALL]
    subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def test_the_experiment_runs_end_to_end_with_its_decomposition(channels):
    text = (channels / "report.md").read_text()
    assert text.startswith("# Promoting technocrats")
    assert "## Decomposition by leadership channel" in text
    assert "through which channel" in text  # the seed's question
    assert (channels / "figures" / f"{technocrat_channels.FIGURE}.png").stat().st_size > 0
    assert (channels / "figures" / f"{technocrat_channels.FIGURE}.svg").exists()

    table = pd.read_csv(channels / "decomposition.csv")
    settings = list(dict.fromkeys(table["setting"]))
    assert settings == [
        "all channels off",
        "approval only",
        "favoritism only",
        "funding only",
        "approval + favoritism",
        "approval + funding",
        "favoritism + funding",
        "all channels on",
        decomposition.INTERACTION,
    ]
    assert set(table["metric"]) == set(decomposition.METRICS)
    assert set(table["n_pairs"]) == {3}
    assert (table["share_low"] == 0.176).all() and (table["share_high"] == 0.4).all()
    # With every channel off the share changes nothing, in every seed pair and every metric.
    off = table[table["setting"] == "all channels off"]
    assert (off["difference"] == 0).all() and off["all_zero"].all()
    assert "changes nothing: every metric is identical in every seed pair" in text


def test_the_decomposition_matches_the_job_files(channels):
    """The all-on effect is the mean per-seed difference of the two arms' replicates, and the
    interaction is all on minus the singles, each net of all off."""
    runs = channels / "runs"
    reps = report.load_sweep(runs).replicates
    table = pd.read_csv(channels / "decomposition.csv")
    rate = table[table["metric"] == "breakthrough_rate"].set_index("setting")["difference"]

    def effect(approval, favoritism, funding):
        arm = reps[
            (reps["leadership.approval_differs"] == approval)
            & (reps["leadership.favoritism_differs"] == favoritism)
            & (reps["leadership.funding_differs"] == funding)
        ].set_index(["leadership.technocrat_share", "seed"])["breakthrough_rate"]
        return arm.xs(0.4) - arm.xs(0.176)

    on, off = effect(True, True, True), effect(False, False, False)
    assert rate["all channels on"] == pytest.approx(on.mean())
    singles = effect(True, False, False) + effect(False, True, False) + effect(False, False, True)
    assert rate[decomposition.INTERACTION] == pytest.approx((on - singles + 2 * off).mean())


def test_rates_per_period_match_the_timeseries(channels):
    text = (channels / "report.md").read_text()
    assert "## Breakthrough rate per period" in text
    assert "| 2015–2019 | 2020 |" in text  # five years, then the last one alone
    periods = pd.read_csv(channels / "periods.csv")
    assert set(periods["period"]) == {0, 1} and set(periods["n"]) == {3}
    assert len(periods) == 2 * 16  # every arm, every period
    # One arm by hand: each replicate's mean quarterly rate over 2015-2019, then their mean.
    data = report.load_sweep(channels / "runs")
    series = data.timeseries
    arm = series[
        (series["leadership.technocrat_share"] == 0.4)
        & series["leadership.approval_differs"]
        & series["leadership.favoritism_differs"]
        & series["leadership.funding_differs"]
    ]
    first = arm[arm["year"] < 2020].groupby("seed")[figures.quarterly_rate()].mean()
    row = periods[
        (periods["leadership.technocrat_share"] == 0.4)
        & periods["leadership.approval_differs"]
        & periods["leadership.favoritism_differs"]
        & periods["leadership.funding_differs"]
        & (periods["period"] == 0)
    ].iloc[0]
    assert row["mean"] == pytest.approx(first.mean())
    assert (row["first_year"], row["last_year"]) == (2015.0, 2019.75)


def test_a_sweep_without_the_channels_is_no_decomposition():
    assert decomposition.applies(["leadership.technocrat_share", "leadership.funding_differs"])
    assert not decomposition.applies(["leadership.technocrat_share"])
    assert not decomposition.applies(["guanxi.weight", "leadership.technocrat_share"])
    assert not decomposition.applies(
        ["leadership.technocrat_share", "leadership.funding_differs", "guanxi.weight"]
    )


def test_interaction_is_zero_when_channels_add_up():
    seeds = pd.Index([1, 2, 3], name="seed")
    off = pd.Series(0.0, index=seeds)
    single = [pd.Series(np.array([1.0, 2.0, 3.0]) * k, index=seeds) for k in (1, 2, 3)]
    effects = {
        (False, False, False): off,
        (True, False, False): single[0],
        (False, True, False): single[1],
        (False, False, True): single[2],
        (True, True, True): single[0] + single[1] + single[2],
    }
    assert (decomposition.interaction(effects) == 0).all()
    del effects[(False, True, False)]
    assert decomposition.interaction(effects) is None
