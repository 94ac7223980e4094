"""Technocratic and political leaderships differ only through switchable channels.

With every channel off, the technocrat share changes nothing at all (the same seed gives the
same numbers); each channel, switched on alone, makes the technocrat share matter, and switching
that channel off removes its effect again.
"""

import pytest

from sim import ResearchModel

CHANNELS = ("approval_differs", "favoritism_differs", "funding_differs")
SMALL = {"n_researchers": 300, "n_institutions": 10, "years": 6, "burn_in_years": 3}
# a strong oversight and favoritism, so each channel has something to act on
LEVERS = {"oversight.intensity": 0.8, "guanxi.weight": 1.5}


def outputs(technocrat_share: float, on: tuple[str, ...]) -> dict:
    """Every run metric but the share of technocratic leaderships itself."""
    switches = {c: c in on for c in CHANNELS}
    model = ResearchModel(
        seed=3, technocrat_share=technocrat_share, **switches, **SMALL, **LEVERS
    ).run()
    return {k: v for k, v in model.run_metrics().items() if k != "mean_technocrat_share"}


def test_with_every_channel_off_the_technocrat_share_changes_nothing():
    assert outputs(0.176, on=()) == outputs(0.7, on=())


@pytest.mark.parametrize("channel", CHANNELS)
def test_each_channel_alone_carries_an_effect_that_switching_it_off_removes(channel):
    low, high = outputs(0.176, on=(channel,)), outputs(0.7, on=(channel,))
    assert low != high
    changed = {k for k in low if low[k] != high[k]}
    assert "breakthrough_rate" in changed or "mean_allocation_efficiency" in changed, changed
