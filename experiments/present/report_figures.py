"""Which figures a sweep gets, decided by the levers it varied, each with its caption.

- two levers on a full grid: a heatmap of the breakthrough rate;
- a numeric lever with three or more values: the rate against it with a CI band (one line per
  value of a second lever), plus the last declared metric that speaks to that lever (sim's
  `Run.answers`: the flop rate against the evaluation window, allocation efficiency against
  guanxi weight, ...);
- the export-control shock on and off: the time series around the shock date;
- an incentive lever: the exploratory share over time per regime;
- a named lever (a preset or scenario), up to eight arms: the breakthrough rate over time;
- two or more arms: papers against breakthroughs, and paired vs unpaired contrast intervals;
- the technocrat share crossed with the leadership channels: the share's effect per channel
  setting (`technocrat_channels.py`).
Levers not shown in a figure sit at the reference arm's values, which the caption names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model import catalog
from sim.params import policy_levers
from sim.production import BREAKTHROUGH_RATE

from ..analysis import stats
from . import figures, technocrat_channels

HEADLINE = BREAKTHROUGH_RATE.name

# The evaluation regime's levers: the incentives group's policy levers (`param(policy=True)`) and
# its named presets (count_heavy, balanced, hhmi_like).
INCENTIVE_LEVERS = [
    *(lever for lever in policy_levers() if lever.startswith("incentives.")),
    "incentives",
]
CI = f"{figures.CI_PERCENT}% bootstrap CI"
BANDS_NOTE = (
    "Bands are each arm's own interval; differences between arms are judged more sharply by "
    "the paired contrasts."
)
MAX_CONTRAST_ROWS = 16  # beyond this the contrast figure keeps one-lever moves from the reference


@dataclass
class Figure:
    name: str
    alt: str
    caption: str


def at_reference(frame: pd.DataFrame, levers, reference, keep) -> pd.DataFrame:
    """Rows whose levers outside `keep` sit at the reference arm's values."""
    others = [(lever, reference[i]) for i, lever in enumerate(levers) if lever not in keep]
    return stats.select(frame, [lever for lever, _ in others], tuple(v for _, v in others))


def held_note(levers, reference, keep) -> str:
    text = ", ".join(
        f"{figures.lever_label(lever).split(' (')[0]} {figures.format_value(reference[i])}"
        for i, lever in enumerate(levers)
        if lever not in keep
    )
    return f"Other levers at the reference: {text}." if text else ""


def _numeric(values) -> bool:
    return all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in values
    )


def _full_grid(replicates: pd.DataFrame, levers) -> bool:
    expected = int(np.prod([replicates[lever].nunique() for lever in levers]))
    return len(stats.arms(replicates, levers)) == expected


def make_figures(data, analysis: dict, out_dir: Path, shock_start: float) -> list[Figure]:
    """Draw every figure the sweep's levers allow into `out_dir`; return them with captions."""
    levers, reference = data.levers, analysis["reference"]
    reps, series = data.replicates, data.timeseries
    values = {lever: sorted(reps[lever].unique()) for lever in levers}
    made: list[Figure] = []

    if len(levers) == 2 and _full_grid(reps, levers) and all(len(values[lv]) > 1 for lv in levers):
        x, y = sorted(levers, key=lambda lever: -len(values[lever]))
        figures.heatmap(reps, x, y, out_dir)
        made.append(
            Figure(
                "heatmap",
                "Heatmap of the breakthrough rate over two levers",
                f"Breakthrough rate in each arm: mean and {CI} over the arm's replicates.",
            )
        )

    numeric = [lv for lv in levers if _numeric(values[lv]) and len(values[lv]) >= 3]
    line_lever = max(numeric, key=lambda lever: len(values[lever]), default=None)
    if line_lever:
        rest = [lever for lever in levers if lever != line_lever]
        hue = rest[0] if len(rest) == 1 and len(values[rest[0]]) <= 8 else None
        keep = {line_lever, hue} - {None}
        subset = at_reference(reps, levers, reference, keep)
        note = held_note(levers, reference, keep)
        line_metrics = [HEADLINE, *catalog().answering(line_lever)[-1:]]
        for metric in line_metrics:
            name = "line" if metric == HEADLINE else f"line_{metric}"
            figures.lever_line(subset, line_lever, out_dir, metric, hue, name, note)
            made.append(
                Figure(
                    name,
                    f"{figures.metric_label(metric)} against {figures.lever_label(line_lever)}",
                    f"Mean with {CI} band. {BANDS_NOTE} {note}".strip(),
                )
            )

    shock = figures.SHOCK_LEVER
    if shock in levers and len(values[shock]) == 2 and not series.empty:
        others = [lever for lever in levers if lever != shock]
        figures.export_shock(series, out_dir, shock_start, others)
        made.append(
            Figure(
                "export_shock",
                "Breakthrough rates of exposed and other fields around the shock",
                f"Yearly means with {CI} bands. Panel (d) is the per-seed difference between each "
                "shock arm and the no-shock arm with the same other levers. Dotted line: the "
                f"shock's start ({shock_start:g}).",
            )
        )

    regime = [lever for lever in levers if lever in INCENTIVE_LEVERS]
    if regime and not series.empty:
        subset = at_reference(series, levers, reference, set(regime))
        if len(stats.arms(subset, regime)) <= len(figures.OKABE_ITO):
            note = held_note(levers, reference, set(regime))
            figures.arms_over_time(subset, regime, out_dir, note=note)
            made.append(
                Figure(
                    "exploratory_share_over_time",
                    "Exploratory share over time",
                    "Population mean share of research time on exploratory work: yearly means "
                    f"with {CI} bands. {note}".strip(),
                )
            )

    named = [lever for lever in levers if all(isinstance(v, str) for v in values[lever])]
    if named and not series.empty and len(stats.arms(reps, levers)) <= len(figures.OKABE_ITO):
        figures.arms_over_time(
            series, levers, out_dir, figures.quarterly_rate(), "breakthrough_rate_over_time"
        )
        made.append(
            Figure(
                "breakthrough_rate_over_time",
                "Breakthrough rate over time per arm",
                f"Breakthroughs per 1,000 researcher-years, yearly means with {CI} bands.",
            )
        )

    if len(stats.arms(reps, levers)) >= 2:
        figures.papers_vs_breakthroughs(reps, levers, out_dir)
        made.append(
            Figure(
                "papers_vs_breakthroughs",
                "Papers against breakthroughs per arm",
                f"Each point is one arm: means with {CI} bars in both directions.",
            )
        )
        label = figures.arm_label(levers, reference)
        table, which = analysis["contrasts"], "each arm"
        if len(stats.arms(table, levers)) > MAX_CONTRAST_ROWS:
            differs = sum(
                (table[lever] != reference[i]).astype(int) for i, lever in enumerate(levers)
            )
            table, which = table[differs == 1], "each arm that moves one lever from it"
        metric = analysis["contrast_metrics"][-1]  # the sweep's focus, e.g. after the shock
        figures.contrast_intervals(table, levers, label, out_dir, metric)
        made.append(
            Figure(
                "contrasts",
                "Paired and unpaired intervals of each arm's difference from the reference",
                f"{figures.metric_label(metric).split(' (')[0]}, {which} minus the reference "
                f"({label}). Dark: {CI} of the per-seed differences; light: the unpaired "
                "interval from the same replicates.",
            )
        )

    if analysis.get("decomposition") is not None:
        technocrat_channels.figure(analysis["decomposition"], out_dir)
        made.append(
            Figure(
                technocrat_channels.FIGURE,
                "Effect of the technocrat share per channel setting",
                "Each row: the paired effect of raising the technocrat share under one setting "
                "of the leadership channels, mean with its 95% CI over seed pairs (dark); the "
                "last row (light) is the interaction, all on minus the sum of the singles. "
                "A bar crossing the grey line at 0 is an effect not distinguishable from 0.",
            )
        )
    return made
