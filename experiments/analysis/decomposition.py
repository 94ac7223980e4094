"""The technocrat decomposition: the technocrat share's paired effect under each setting of the
leadership channels, and how the channels add up.

Technocratic and political leaderships differ through three switchable channels
(`leadership.approval_differs`, `favoritism_differs`, `funding_differs`). A sweep that crosses
the technocrat share with some of these switches (`configs/experiment/technocrat_channels.yaml`)
answers the first seed's question: does promoting technocrats raise breakthroughs, by how much,
through which channel? For each channel setting the effect of the share (highest minus lowest
value) is paired on seeds; with every channel off it is exactly zero by construction (the share
then changes nothing), which the report checks. The interaction is, per seed, the all-on effect
minus the sum of the single-channel effects (each net of the all-off effect), so it is zero when
the channels add up. Its table, sentences and figure: `present/technocrat_channels.py`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.params import group_fields, groups_of

from . import stats


def leadership_channels() -> tuple[str, dict[str, str]]:
    """The decomposed lever and its channels' switches, as `sim.params` declares them: the
    switches declared with `channel_of`, each named by its short label less ' channel'
    (approval, favoritism, funding), and the lever they are channels of."""
    switches = [(g, f) for g in groups_of() for f in group_fields(g) if f.metadata["channel_of"]]
    (share,) = {f"{g}.{f.metadata['channel_of']}" for g, f in switches}
    return share, {
        f"{g}.{f.name}": f.metadata["short"].removesuffix(" channel") for g, f in switches
    }


SHARE, CHANNELS = leadership_channels()
# What the share's effect is shown on: the headline first, then where each channel acts.
METRICS = [
    "breakthrough_rate",
    "mean_allocation_efficiency",
    "final_exploratory_share",
    "approval_rate",
    "waiting_years_per_project",
    "papers_per_researcher_year",
]
INTERACTION = "interaction (all on − sum of singles)"


def applies(levers: list[str]) -> bool:
    """Whether a sweep is a decomposition: the share and at least one channel switch varied,
    nothing else."""
    varied = set(levers)
    return SHARE in varied and bool(varied & set(CHANNELS)) and varied <= {SHARE, *CHANNELS}


def setting_label(setting: tuple[bool, ...]) -> str:
    on = [name for name, flag in zip(CHANNELS.values(), setting, strict=True) if flag]
    if not on:
        return "all channels off"
    if len(on) == len(CHANNELS):
        return "all channels on"
    return " + ".join(on) + (" only" if len(on) == 1 else "")


def _settings(replicates: pd.DataFrame, fixed: dict, defaults: dict) -> pd.DataFrame:
    """The replicates with every channel switch as a column (fixed ones filled in)."""
    frame = replicates.copy()
    for channel in CHANNELS:
        if channel not in frame.columns:
            frame[channel] = fixed.get(channel, defaults.get(channel))
        frame[channel] = frame[channel].astype(bool)
    return frame


def per_seed_effects(
    replicates: pd.DataFrame, metric: str, fixed: dict, defaults: dict
) -> dict[tuple, pd.Series]:
    """Channel setting -> per-seed effect of the share (high minus low) on `metric`, ordered
    by the number of channels on, then as the switches are declared."""
    frame = _settings(replicates, fixed, defaults)
    low, high = frame[SHARE].min(), frame[SHARE].max()
    effects = {}
    for setting, group in frame.groupby(list(CHANNELS), sort=True):
        by_share = group.set_index([SHARE, "seed"])[metric]
        if not {low, high} <= set(group[SHARE]):
            continue
        difference = (by_share.xs(high) - by_share.xs(low)).dropna()
        effects[tuple(bool(s) for s in setting)] = difference
    return dict(sorted(effects.items(), key=lambda kv: (sum(kv[0]), [not s for s in kv[0]])))


def low_share_means(replicates, metric, fixed, defaults) -> dict[tuple, float]:
    """Channel setting -> mean of `metric` at the lowest share (the base of a relative effect)."""
    frame = _settings(replicates, fixed, defaults)
    low = frame[frame[SHARE] == frame[SHARE].min()]
    means = low.groupby(list(CHANNELS))[metric].mean()
    return {tuple(bool(s) for s in key): float(v) for key, v in means.items()}


def interaction(effects: dict[tuple, pd.Series]) -> pd.Series | None:
    """Per seed: (all on − all off) − Σ (single − all off); None without those settings."""
    n = len(CHANNELS)
    off, on = (False,) * n, (True,) * n
    singles = [tuple(i == j for j in range(n)) for i in range(n)]
    if not all(s in effects for s in (off, on, *singles)):
        return None
    base = effects[off]
    total = effects[on] - base
    for single in singles:
        total = total - (effects[single] - base)
    return total.dropna()


def decompose(data, defaults: dict) -> pd.DataFrame:
    """One row per channel setting (and the interaction) and metric: setting, the channels'
    switches, metric, share_low, share_high, low_mean (the metric at the low share),
    difference, ci_low, ci_high, n_pairs, all_zero."""
    reps = data.replicates
    low, high = float(reps[SHARE].min()), float(reps[SHARE].max())
    rows = []
    for metric in (m for m in METRICS if m in reps.columns):
        effects = per_seed_effects(reps, metric, data.fixed, defaults)
        low_means = low_share_means(reps, metric, data.fixed, defaults)
        rows_of = [
            (setting_label(s), dict(zip(CHANNELS, s, strict=True)), d, low_means[s])
            for s, d in effects.items()
        ]
        combined = interaction(effects)
        if combined is not None:
            rows_of.append((INTERACTION, {}, combined, np.nan))
        for label, switches, differences, low_mean in rows_of:
            estimate = stats.mean_ci(differences.to_numpy())
            rows.append(
                {
                    "setting": label,
                    **switches,
                    "metric": metric,
                    "share_low": low,
                    "share_high": high,
                    "low_mean": low_mean,
                    "difference": estimate.mean,
                    "ci_low": estimate.ci_low,
                    "ci_high": estimate.ci_high,
                    "n_pairs": estimate.n,
                    "all_zero": bool(len(differences) and (differences == 0).all()),
                }
            )
    return pd.DataFrame(rows)
