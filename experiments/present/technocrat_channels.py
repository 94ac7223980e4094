"""The technocrat decomposition shown: the report's table, its plain sentences and its figure.

The numbers come from `analysis/decomposition.py` (the share's paired effect under each setting
of the leadership channels); this module only words and draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.ticker import MaxNLocator

from ..analysis.decomposition import CHANNELS, INTERACTION, METRICS, setting_label
from . import figures

FIGURE_METRICS = METRICS[:4]
FIGURE = "technocrat_channels"


def table(decomposition: pd.DataFrame) -> pd.DataFrame:
    """The report's table: one row per setting, 'difference [CI]' per metric, seed pairs."""
    rows = []
    for setting, group in decomposition.groupby("setting", sort=False):
        row = {"channel setting": setting}
        for _, r in group.iterrows():
            row[figures.metric_short(r["metric"])] = (
                f"{_signed(r['difference'])} [{figures.number(r['ci_low'])}, "
                f"{figures.number(r['ci_high'])}]"
            )
        row["seed pairs"] = int(group["n_pairs"].min())
        rows.append(row)
    return pd.DataFrame(rows)


def _signed(x) -> str:
    text = figures.number(x)
    return f"+{text}" if x is not None and x > 0 else text


def _percent(share) -> str:
    return f"{100 * share:+.1f}%"


def _phrase(row) -> str:
    ci = f"95% CI {figures.number(row['ci_low'])} to {figures.number(row['ci_high'])}"
    excludes = row["ci_low"] > 0 or row["ci_high"] < 0
    verdict = (
        "distinguishable from 0" if excludes else "includes 0: no effect distinguishable from 0"
    )
    return f"{_signed(row['difference'])} ({ci}; {verdict})"


def _singles() -> list[str]:
    n = len(CHANNELS)
    return [setting_label(tuple(i == j for j in range(n))) for i in range(n)]


def findings(decomposition: pd.DataFrame, metric: str = METRICS[0]) -> list[str]:
    """Plain sentences on what the decomposition shows for `metric`, null results included,
    and where the channels measurably move the other metrics."""
    rows = decomposition[decomposition["metric"] == metric].set_index("setting")
    if rows.empty:
        return []
    low, high = rows["share_low"].iloc[0], rows["share_high"].iloc[0]
    name = figures.metric_short(metric)
    out = []
    off, on = (setting_label((flag,) * len(CHANNELS)) for flag in (False, True))
    if off in rows.index:
        zero = decomposition[decomposition["setting"] == off]["all_zero"].all()
        out.append(
            f"With {off}, raising the share from {low:g} to {high:g} changes "
            + (
                "nothing: every metric is identical in every seed pair, as it must be by "
                "construction (the share then only relabels leaderships)."
                if zero
                else "some metric in some seed pair, although it should change nothing: "
                "a channel acts outside its switch."
            )
        )
    if on in rows.index:
        r = rows.loc[on]
        base = r["low_mean"]
        relative = (
            f" The effect is {_percent(r['difference'] / base)} of the rate at share "
            f"{low:g} ({figures.number(base)}); the interval bounds it between "
            f"{_percent(r['ci_low'] / base)} and {_percent(r['ci_high'] / base)}."
            if base
            else ""
        )
        out.append(
            f"With {on} (the model's default), the {name} changes by {_phrase(r)} when the "
            f"share rises from {low:g} to {high:g}.{relative}"
        )
    present = [s for s in _singles() if s in rows.index]
    if present:
        out.append(
            "Each channel alone: "
            + "; ".join(f"{s.removesuffix(' only')} {_phrase(rows.loc[s])}" for s in present)
            + "."
        )
        carrying = [s.removesuffix(" only") for s in present if _excludes(rows.loc[s])]
        out.append(
            "Channel(s) whose effect alone is distinguishable from 0: " + ", ".join(carrying) + "."
            if carrying
            else "No channel alone has an effect distinguishable from 0 at this number of seeds: "
            "the decomposition cannot say which channel carries an effect, because none is "
            "resolved. This is a null result, reported as such."
        )
    others = [
        s
        for s in rows.index
        if s not in (off, on, INTERACTION, *present) and _excludes(rows.loc[s])
    ]
    if others:
        out.append(
            "Among the combinations of two channels, "
            + "; ".join(f"{s} {_phrase(rows.loc[s])}" for s in others)
            + f". With {len(rows) - 1} effects estimated, about one in twenty intervals "
            "excludes 0 by chance alone, so read such a single result with care."
        )
    if INTERACTION in rows.index:
        out.append(
            f"Interaction (all on minus the sum of the singles): {_phrase(rows.loc[INTERACTION])}."
        )
    moved = []
    for other in dict.fromkeys(decomposition["metric"]):
        if other == metric:
            continue
        by = decomposition[decomposition["metric"] == other].set_index("setting")
        acting = [s for s in (*present, on) if s in by.index and _excludes(by.loc[s])]
        if acting:
            moved.append(
                f"{figures.metric_short(other)} "
                + ", ".join(
                    f"{_signed(by.loc[s, 'difference'])} with {s}"
                    + f" [{figures.number(by.loc[s, 'ci_low'])}, "
                    + f"{figures.number(by.loc[s, 'ci_high'])}]"
                    for s in acting
                )
            )
    if moved:
        out.append(
            "Where the share measurably moves other metrics (single channels and all on; "
            "95% paired CI excluding 0): " + "; ".join(moved) + "."
        )
    return out


def _excludes(row) -> bool:
    return bool(row["ci_low"] > 0 or row["ci_high"] < 0)


def figure(decomposition: pd.DataFrame, out_dir: str | Path, name: str = FIGURE):
    """Effect of the share with its paired CI, per channel setting, one panel per metric."""
    metrics = [m for m in FIGURE_METRICS if m in set(decomposition["metric"])]
    settings = list(dict.fromkeys(decomposition["setting"]))
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.2 * len(metrics) + 2.2, 0.42 * len(settings) + 2.2),
        sharey=True, squeeze=False,
    )  # fmt: skip
    positions = np.arange(len(settings))[::-1]
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = decomposition[decomposition["metric"] == metric].set_index("setting")
        for y, setting in zip(positions, settings, strict=True):
            r = rows.loc[setting]
            colour = figures.OKABE_ITO[1] if setting == INTERACTION else figures.OKABE_ITO[0]
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=colour, linewidth=4,
                    solid_capstyle="butt")  # fmt: skip
            ax.plot(r["difference"], y, "o", color="black", markersize=3)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_xlabel(figures.wrapped(figures.metric_label(metric), 34), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # small effects have long tick labels
    axes[0][0].set_yticks(positions, settings)
    axes[0][0].set_ylim(-0.6, len(settings) - 0.4)
    first = decomposition.iloc[0]
    headline = (
        f"Effect of raising the technocrat share from {first['share_low']:g} to "
        f"{first['share_high']:g}, per channel setting"
    )
    counts = decomposition["n_pairs"]
    fig.suptitle(f"{headline}\n{figures.caption(counts, 'seed pairs per row', 'bars')}", fontsize=9)
    fig.tight_layout()
    return figures.save(fig, out_dir, name)
