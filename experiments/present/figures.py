"""Figures for reviewers: every one with units on its axes, its n and its CI, in safe colours.

Each function takes tidy DataFrames (replicates: one row per replicate; timeseries: one row per
replicate and step; both with a `seed` column and one column per lever), computes its statistics
with `experiments.stats`, and writes `<out_dir>/<name>.png` and `.svg` atomically. Colours are
the Okabe-Ito palette (lines, points) and cividis (heatmaps), readable with colour-blindness.
Each returns the paths it wrote.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sim import params  # noqa: E402
from sim.careers import EXPLORATORY_SHARE  # noqa: E402
from sim.collaboration import FOREIGN_COLLABORATION  # noqa: E402
from sim.metrics import QUARTERLY, grouped  # noqa: E402
from sim.model import catalog, parameters  # noqa: E402
from sim.production import BREAKTHROUGH_RATE, PAPER_RATE  # noqa: E402

from ..analysis import stats  # noqa: E402
from ..engine import io  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
HEATMAP_COLORMAP = "cividis"
CI_PERCENT = round(100 * stats.CONFIDENCE)

# Named presets (config groups) swept as levers; every other label comes from the declarations
# of sim (parameters in sim/params.py, metrics in each mechanism module).
PRESET_LABELS = {
    "incentives": ("evaluation regime (preset)", "regime"),
    "oversight": ("oversight preset", "oversight"),
    "guanxi": ("guanxi preset", "guanxi"),
    "leadership": ("leadership preset", "leadership"),
    "export_controls": ("export-control preset", "controls"),
    "population": ("population preset", "population"),
    "scenario": ("scenario (timeline of dated events)", "scenario"),
}
AFTER_SHOCK = "after_shock_"  # prefix of a metric averaged over the steps from the shock on


def switch_of(group: str) -> str:
    """The lever that turns parameter group `group` on or off: its one boolean policy lever."""
    model = parameters()
    switches = [
        lever
        for lever in params.policy_levers(model)
        if lever.split(".")[0] == group
        and isinstance(params.field_of(lever, model)[2].default, bool)
    ]
    if len(switches) != 1:
        raise ValueError(f"{group} has {len(switches)} boolean policy levers; one was expected")
    return switches[0]


SHOCK_LEVER = switch_of("export_controls")  # the export-control shock, on or off

plt.rcParams.update(
    {
        "svg.hashsalt": "research-incentives",  # stable SVG ids, so regenerated files diff cleanly
        "svg.fonttype": "none",  # text stays text: searchable, and smaller files
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    }
)


# --- labels ------------------------------------------------------------------------------------


def quarterly_rate(group: str | None = None) -> str:
    """The step table's column of the headline rate per quarter, for all or one field group."""
    name = BREAKTHROUGH_RATE.name if group is None else grouped(BREAKTHROUGH_RATE.name, group)
    return QUARTERLY + name


def declared_label(metric: str) -> str:
    """The declared 'Name (unit)', without a unit that only repeats the name ('Papers per
    researcher-year (papers per researcher-year)' becomes 'Papers per researcher-year')."""
    label = catalog().label(metric)
    head, _, unit = label.partition(" (")
    return head if unit.removesuffix(")").lower() == head.lower() else label


def metric_label(metric: str) -> str:
    """A metric's label with its unit, from its declaration (sim.METRICS)."""
    if metric.startswith(AFTER_SHOCK):
        head, _, unit = declared_label(metric.removeprefix(AFTER_SHOCK)).partition(" (")
        return f"{head.removesuffix(', quarterly')} after the shock date" + (
            f" ({unit}" if unit else ""
        )
    try:
        return declared_label(metric)
    except (KeyError, StopIteration):
        return metric.replace("_", " ")


def metric_short(metric: str) -> str:
    """A short column name for tables."""
    if metric.startswith(AFTER_SHOCK):
        return metric_label(metric).split(" (")[0].lower()
    return catalog().short(metric)


def wrapped(text: str, width: int = 48) -> str:
    """Break a long axis label over lines so it fits beside a small panel."""
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))  # 'researcher-years'


def lever_label(lever: str) -> str:
    """A lever's label with its unit (sim.params), or a preset group's label."""
    if lever in PRESET_LABELS:
        return PRESET_LABELS[lever][0]
    try:
        return params.lever_label(lever, parameters())
    except params.ParameterError:
        return lever.rsplit(".", 1)[-1].replace("_", " ")


def lever_short(lever: str) -> str:
    if lever in PRESET_LABELS:
        return PRESET_LABELS[lever][1]
    try:
        return params.lever_short(lever, parameters())
    except params.ParameterError:
        return lever.rsplit(".", 1)[-1].replace("_", " ")


def format_value(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "on" if value else "off"
    if isinstance(value, float | np.floating):
        return f"{value:g}"
    return str(value)


def number(x) -> str:
    """About three significant digits with fixed decimals by size; 'n/a' when missing."""
    if x is None or np.isnan(x):
        return "n/a"
    if np.isinf(x):
        return "∞" if x > 0 else "-∞"
    size = abs(x)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{x:,.{digits}f}"


def arm_label(levers: Sequence[str], arm: Sequence) -> str:
    """A short readable name for one lever setting, e.g. 'count weight 0.9, oversight 0.3'."""
    parts = []
    for lever, value in zip(levers, arm, strict=True):
        parts.append(f"{lever_short(lever)} {format_value(value)}")
    return ", ".join(parts) if parts else "all replicates"


def n_phrase(counts) -> str:
    """'n = 20' or 'n = 18-20' for the replicate counts behind a figure."""
    counts = [int(c) for c in counts if c == c]
    if not counts:
        return "n = 0"
    low, high = min(counts), max(counts)
    return f"n = {low}" if low == high else f"n = {low}-{high}"


def caption(counts, what: str = "replicates per point", shown_as: str = "bars") -> str:
    """'Mean over n = 20 replicates per point (paired seeds); bars: 95% bootstrap CI'."""
    return (
        f"Mean over {n_phrase(counts)} {what} (paired seeds); "
        f"{shown_as}: {CI_PERCENT}% bootstrap CI"
    )


def set_title(fig, headline: str, counts, what: str, shown_as: str, note: str = ""):
    """Title over the whole figure (so it is never wider than the figure): the headline, the n
    and CI caption and an optional note, each wrapped to the figure's width."""
    width = int(fig.get_figwidth() * 12)  # characters of 10-point text per line
    lines = [headline, caption(counts, what, shown_as), *([note] if note else [])]
    fig.suptitle("\n".join(wrapped(line, width) for line in lines), fontsize=10)


def figure(width: float, height: float, **kwargs):
    """A figure and axes whose layout keeps titles, labels and outside legends in the image."""
    return plt.subplots(figsize=(width, height), layout="constrained", **kwargs)


def legend_outside(ax, handles=None, **kwargs):
    """The legend right of the axes, where it cannot cover a line or a point."""
    options = {"frameon": False, "fontsize": 8, "loc": "upper left", "alignment": "left"}
    options["bbox_to_anchor"] = (1.02, 1.0)
    if handles is not None:
        options["handles"] = handles
    return ax.legend(**{**options, **kwargs})


def over_time_labels(metric: str, bin_years: float) -> tuple[str, str]:
    """(the metric's label, the time axis's label) for a plot of yearly means: a quarterly rate
    is then a mean of quarterly rates, not quarterly."""
    if metric.startswith(QUARTERLY):
        label = metric_label(metric).replace(", quarterly", "")
        return label, f"calendar year ({bin_years:g}-year means of the quarterly rates)"
    return metric_label(metric), f"calendar year ({bin_years:g}-year means)"


def palette(values) -> list:
    """Colours for a list of lever values: sequential (viridis, light end cut) for three or more
    ordered numbers, Okabe-Ito for categories, viridis beyond eight categories."""
    values = list(values)
    ordered = len(values) >= 3 and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in values
    )
    if ordered or len(values) > len(OKABE_ITO):
        return list(plt.cm.viridis(np.linspace(0.0, 0.85, len(values))))
    return OKABE_ITO[: len(values)]


# --- saving ------------------------------------------------------------------------------------


def save(fig, out_dir: str | Path, name: str) -> list[Path]:
    """Write the figure as PNG and SVG, each atomically (`io.write_atomic`)."""
    out_dir = Path(out_dir)
    paths = []
    for extension, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        target = out_dir / f"{name}.{extension}"
        io.write_atomic(
            target,
            lambda f, ext=extension, meta=metadata: fig.savefig(
                f, format=ext, dpi=150, metadata=meta
            ),
            mode="wb",
        )
        paths.append(target)
    plt.close(fig)
    return paths


def _one_arm_per_cell(replicates: pd.DataFrame, keys: Sequence[str], seed_column: str = "seed"):
    duplicated = replicates.duplicated([*keys, seed_column])
    if duplicated.any():
        raise ValueError(
            f"several replicates share a seed within one setting of {list(keys)}: another lever "
            "varies; select one value of it before plotting"
        )


def _band(ax, x, table: pd.DataFrame, colour, label, linestyle="-"):
    # as floats: a field group without researchers has no values, and an empty table's columns
    # are of type object, which matplotlib cannot fill
    x = np.asarray(x, dtype=float)
    mean, low, high = (table[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
    ax.plot(x, mean, color=colour, linestyle=linestyle, label=label, linewidth=1.6)
    ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


# --- figures -----------------------------------------------------------------------------------


def heatmap(
    replicates: pd.DataFrame,
    x_lever: str,
    y_lever: str,
    out_dir: str | Path,
    metric: str = BREAKTHROUGH_RATE.name,
    name: str = "heatmap",
    note: str = "",
) -> list[Path]:
    """Mean of `metric` over two levers, each cell annotated with its mean and CI."""
    _one_arm_per_cell(replicates, [x_lever, y_lever])
    table = stats.summarize(replicates, [y_lever, x_lever], [metric])
    xs = sorted(table[x_lever].unique())
    ys = sorted(table[y_lever].unique())
    grid = table.pivot(index=y_lever, columns=x_lever, values="mean").reindex(index=ys, columns=xs)
    fig, ax = figure(max(7.0, 1.5 * len(xs) + 2.8), max(4.2, 0.9 * len(ys) + 2.2))
    image = ax.imshow(grid.to_numpy(), cmap=HEATMAP_COLORMAP, origin="lower", aspect="auto")
    colormap, norm = image.cmap, image.norm
    for _, row in table.iterrows():
        i, j = ys.index(row[y_lever]), xs.index(row[x_lever])
        shade = colormap(norm(row["mean"]))
        luminance = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2]
        ax.text(
            j,
            i,
            f"{number(row['mean'])}\n[{number(row['ci_low'])}, {number(row['ci_high'])}]",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if luminance > 0.5 else "white",
        )
    ax.set_xticks(range(len(xs)), [format_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [format_value(v) for v in ys])
    ax.set_xlabel(lever_label(x_lever))
    ax.set_ylabel(lever_label(y_lever))
    fig.colorbar(image, ax=ax).set_label(wrapped(metric_label(metric), 40))
    title = f"{metric_label(metric).split(' (')[0]} by {lever_label(x_lever).split(' (')[0]}"
    spread = table["mean"].max() - table["mean"].min()
    if spread < (table["ci_high"] - table["ci_low"]).median():
        note = " ".join(
            [
                note,
                "Cells differ by less than a typical CI's width: judge differences "
                "from the paired contrasts, not the colours.",
            ]
        ).strip()
    headline = f"{title} and {lever_label(y_lever).split(' (')[0]}"
    set_title(fig, headline, table["n"], "replicates per cell", "brackets", note)
    return save(fig, out_dir, name)


def lever_line(
    replicates: pd.DataFrame,
    lever: str,
    out_dir: str | Path,
    metric: str = BREAKTHROUGH_RATE.name,
    hue: str | None = None,
    name: str = "line",
    note: str = "",
) -> list[Path]:
    """Mean of `metric` against one lever with a CI band; one line per value of `hue`."""
    keys = [lever] if hue is None else [hue, lever]
    _one_arm_per_cell(replicates, keys)
    table = stats.summarize(replicates, keys, [metric])
    fig, ax = figure(6.4 if hue is None else 8.4, 4.2)
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=True))
    colours = palette([value for value, _ in groups]) if hue is not None else OKABE_ITO[:1]
    for colour, (value, group) in zip(colours, groups, strict=True):
        group = group.sort_values(lever)
        label = None if hue is None else format_value(value)
        _band(ax, group[lever].astype(float), group, colour, label)
        ax.plot(group[lever].astype(float), group["mean"], "o", color=colour, markersize=3)
    ax.set_xlabel(lever_label(lever))
    ax.set_ylabel(wrapped(metric_label(metric)))
    if hue is not None:
        legend_outside(ax, title=lever_label(hue).split(" (")[0])
    headline = f"{metric_label(metric).split(' (')[0]} against {lever_label(lever).split(' (')[0]}"
    set_title(fig, headline, table["n"], "replicates per point", "bands", note)
    return save(fig, out_dir, name)


def arms_over_time(
    timeseries: pd.DataFrame,
    levers: Sequence[str],
    out_dir: str | Path,
    metric: str = EXPLORATORY_SHARE.name,
    name: str = "exploratory_share_over_time",
    bin_years: float = 1.0,
    note: str = "",
) -> list[Path]:
    """`metric` over calendar time, one line with CI band per arm (e.g. incentive regime)."""
    _one_arm_per_cell(timeseries, [*levers, "step"])
    bands = stats.timeseries_bands(timeseries, list(levers), metric, bin_years=bin_years)
    fig, ax = figure(8.4, 4.2)
    label, time_label = over_time_labels(metric, bin_years)
    present = stats.arms(bands, levers)
    colours = palette([arm[0] for arm in present] if len(levers) == 1 else present)
    for colour, arm in zip(colours, present, strict=True):
        group = bands if not levers else stats.select(bands, levers, arm)
        _band(ax, group["time"], group, colour, arm_label(levers, arm))
    ax.set_xlabel(time_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(wrapped(label))
    legend_outside(ax)
    headline = f"{label.split(' (')[0]} over time"
    set_title(fig, headline, bands["n"], "replicates per point", "bands", note)
    return save(fig, out_dir, name)


def _distinct_untreated(timeseries, levers, untreated, metrics) -> list[tuple]:
    """Untreated arms, dropping those identical to an earlier one (a lever that acts only
    through the shock, e.g. self-reliance funding, leaves the no-shock arms the same)."""
    kept, seen = [], []
    for arm in untreated:
        values = stats.select(timeseries, levers, arm).sort_values(["seed", "step"])[metrics]
        values = values.to_numpy()
        if not any(v.shape == values.shape and np.array_equal(v, values) for v in seen):
            kept.append(arm)
            seen.append(values)
    return kept


def export_shock(
    timeseries: pd.DataFrame,
    out_dir: str | Path,
    start_year: float,
    other_levers: Sequence[str] = (),
    name: str = "export_shock",
    bin_years: float = 1.0,
    shock_lever: str = SHOCK_LEVER,
) -> list[Path]:
    """Around the export-control date: exposed vs other fields, with and without the shock.

    Panels: (a) exposed fields' breakthrough rate per arm; (b) other fields'; (c) foreign
    collaboration; (d) the paired difference shock - no shock per field group, each legend
    right of its row, clear of the lines. `other_levers` vary
    besides the shock (e.g. self-reliance funding) and are held equal when pairing; no-shock
    arms that are identical whatever those levers are shown once, as "no shock".
    """
    levers = [shock_lever, *other_levers]
    _one_arm_per_cell(timeseries, [*levers, "step"])
    metrics = [quarterly_rate("exposed"), quarterly_rate("unexposed")]
    present = stats.arms(timeseries, levers)
    treated = [arm for arm in present if arm[0]]
    untreated = _distinct_untreated(
        timeseries, levers, [arm for arm in present if not arm[0]], metrics
    )
    collapsed = len(untreated) == 1 and len(present) - len(treated) > 1

    def label(arm):
        if not arm[0]:
            return (
                "no shock"
                if collapsed or not other_levers
                else ("no shock, " + arm_label(other_levers, arm[1:]))
            )
        return "shock" + (f", {arm_label(other_levers, arm[1:])}" if other_levers else "")

    shown = untreated + treated
    colour_of = dict(zip(shown, OKABE_ITO, strict=False))
    fig, axes = figure(13, 7.5, nrows=2, ncols=2, sharex=True)
    counts = []
    panels = [
        (axes[0, 0], metrics[0], "(a) Export-exposed fields", BREAKTHROUGH_RATE.unit),
        (axes[0, 1], metrics[1], "(b) Other fields", BREAKTHROUGH_RATE.unit),
        (
            axes[1, 0],
            FOREIGN_COLLABORATION.name,
            "(c) Foreign collaboration",
            FOREIGN_COLLABORATION.unit,
        ),
    ]
    for ax, metric, title, unit in panels:
        bands = stats.timeseries_bands(timeseries, levers, metric, bin_years=bin_years)
        counts.extend(bands["n"])
        for arm in shown:
            style = "-" if arm[0] else "--"
            group = stats.select(bands, levers, arm)
            _band(ax, group["time"], group, colour_of[arm], label(arm), style)
        ax.set_title(title)
        ax.set_ylabel(wrapped(unit, 32))
    ax = axes[1, 1]
    untreated_by_rest = {arm[1:]: arm for arm in untreated}
    for arm in treated:
        reference = untreated_by_rest.get(arm[1:], untreated[0] if untreated else None)
        if reference is None:
            continue
        pair = pd.concat(
            [stats.select(timeseries, levers, arm), stats.select(timeseries, levers, reference)]
        ).drop(columns=list(other_levers))
        for metric, style, group_name in zip(
            metrics, ["-", "--"], ["exposed", "other"], strict=True
        ):
            diff = stats.paired_timeseries_difference(
                pair, shock_lever, arm[0], reference[0], metric, bin_years=bin_years
            )
            counts.extend(diff["n"])
            text = f"{group_name} fields" + (
                f", {arm_label(other_levers, arm[1:])}" if other_levers else ""
            )
            _band(ax, diff["time"], diff, colour_of[arm], text, style)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_title("(d) Shock minus no shock, paired on seeds")
    ax.set_ylabel(wrapped(f"difference in {BREAKTHROUGH_RATE.unit}", 32))
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(start_year, color="black", linewidth=0.9, linestyle=":")
    legend_outside(axes[0, 1], title="panels (a)-(c)", fontsize=7, title_fontsize=7)
    legend_outside(axes[1, 1], title="panel (d)", fontsize=7, title_fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel(f"calendar year ({bin_years:g}-year means); dotted line: controls begin")
    fig.suptitle(
        f"Export-control shock from {start_year:g}: breakthrough rates by field exposure\n"
        f"{caption(counts, 'replicates per point', 'bands')}"
    )
    return save(fig, out_dir, name)


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


LABEL_WIDTH = 36  # characters per line of an arm's name in a legend or on an axis


def _heading(text: str):
    """A legend entry with no mark: the title of the entries below it."""
    return plt.Line2D([], [], linestyle="", label=text)


def papers_vs_breakthroughs(
    replicates: pd.DataFrame,
    levers: Sequence[str],
    out_dir: str | Path,
    name: str = "papers_vs_breakthroughs",
    note: str = "",
) -> list[Path]:
    """The trade-off: papers per researcher-year against breakthrough rate, one point per arm.

    On a full two-lever grid colour shows the first lever and marker shape the second, and
    points sharing the second lever's value are joined; otherwise each arm has its own colour.
    """
    levers = list(levers)
    _one_arm_per_cell(replicates, levers)
    metrics = [PAPER_RATE.name, BREAKTHROUGH_RATE.name]
    table = stats.summarize(replicates, levers, metrics)
    present = stats.arms(replicates, levers)
    values = [sorted(replicates[lever].unique()) for lever in levers]
    grid = len(levers) == 2 and len(present) == len(values[0]) * len(values[1])
    colours = palette(
        values[0] if grid else [arm[0] for arm in present] if len(levers) == 1 else present
    )
    names = [wrapped(arm_label(levers, arm), LABEL_WIDTH) for arm in present]
    entries = len(values[0]) + len(values[1]) + 2 if grid else sum(n.count("\n") + 1 for n in names)
    fig, ax = figure(9.0, max(4.8, 0.17 * entries + 1.8))  # tall enough for the legend
    arm_handles = []
    for k, arm in enumerate(present):
        rows = stats.select(table, levers, arm).set_index("metric")
        papers, rate = rows.loc[metrics[0]], rows.loc[metrics[1]]
        x, y = papers["mean"], rate["mean"]
        colour = colours[values[0].index(arm[0])] if grid else colours[k]
        marker = MARKERS[values[1].index(arm[1]) % len(MARKERS)] if grid else "o"
        ax.errorbar(
            x,
            y,
            xerr=[[x - papers["ci_low"]], [papers["ci_high"] - x]],
            yerr=[[y - rate["ci_low"]], [rate["ci_high"] - y]],
            fmt=marker,
            color=colour,
            capsize=2.5,
            markersize=6,
        )
        arm_handles.append(
            plt.Line2D([], [], color=colour, marker="o", linestyle="", label=names[k])
        )
    if grid:
        for value in values[1]:
            line = table[table[levers[1]] == value].pivot(
                index=levers[0], columns="metric", values="mean"
            )
            line = line.sort_index()
            ax.plot(line[metrics[0]], line[metrics[1]], color="grey", linewidth=0.7, zorder=0)
        colour_handles = [
            plt.Line2D([], [], color=c, marker="o", linestyle="", label=format_value(v))
            for c, v in zip(colours, values[0], strict=True)
        ]
        shape_handles = [
            plt.Line2D([], [], color="grey", marker=m, linestyle="", label=format_value(v))
            for m, v in zip(MARKERS, values[1], strict=False)
        ]
        headings = [_heading(wrapped(lever_label(lever), LABEL_WIDTH)) for lever in levers]
        legend_outside(ax, [headings[0], *colour_handles, headings[1], *shape_handles])
    elif levers:
        legend_outside(ax, arm_handles, fontsize=7)
    ax.set_xlabel(metric_label(metrics[0]))
    ax.set_ylabel(wrapped(metric_label(metrics[1])))
    headline = "Papers against breakthroughs across regimes"
    set_title(fig, headline, table["n"], "replicates per point", "bars", note)
    return save(fig, out_dir, name)


def contrast_intervals(
    contrast_table: pd.DataFrame,
    levers: Sequence[str],
    reference_label: str,
    out_dir: str | Path,
    metric: str = BREAKTHROUGH_RATE.name,
    name: str = "contrasts",
) -> list[Path]:
    """Each arm minus the reference: paired CI (dark) beside the unpaired CI (light)."""
    table = contrast_table[contrast_table["metric"] == metric].reset_index(drop=True)
    labels = [
        wrapped(arm_label(levers, tuple(row[list(levers)])), 48) for _, row in table.iterrows()
    ]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = figure(8.4, 0.17 * lines + 0.28 * len(table) + 2.2)
    positions = np.arange(len(table))[::-1]
    for y, (_, row) in zip(positions, table.iterrows(), strict=True):
        ax.plot(
            [row["unpaired_ci_low"], row["unpaired_ci_high"]],
            [y - 0.15] * 2,
            color=OKABE_ITO[1],
            linewidth=5,
            solid_capstyle="butt",
        )
        ax.plot(
            [row["ci_low"], row["ci_high"]],
            [y + 0.15] * 2,
            color=OKABE_ITO[0],
            linewidth=5,
            solid_capstyle="butt",
        )
        ax.plot(row["difference"], y + 0.15, "o", color="black", markersize=3)
    ax.plot([], [], color=OKABE_ITO[0], linewidth=5, label="paired on seeds")
    ax.plot([], [], color=OKABE_ITO[1], linewidth=5, label="unpaired (same replicates)")
    ax.set_yticks(positions, labels)
    ax.set_ylim(-0.6, len(table) - 0.4)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    unit = metric_label(metric).split(" (", 1)
    label = f"{unit[0]}: arm minus reference" + (f" ({unit[1]}" if len(unit) > 1 else "")
    ax.set_xlabel(wrapped(label, 80))
    fig.legend(frameon=False, fontsize=8, loc="outside lower center", ncols=2)
    headline = f"Each arm minus the reference ({reference_label})"
    set_title(fig, headline, table["n_pairs"], "seed pairs per arm", "bars")
    return save(fig, out_dir, name)
