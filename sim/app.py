"""The model's dashboard, a Solara page: `make app` (`solara run sim/app.py`, then open
http://localhost:8765).

The sidebar holds the main levers, with the schema's ranges and labels (sim/schema.py), a seed,
the dated events of a scenario (configs/scenario/) and the compare mode; press Reset to build a
model with them, Step to run a quarter, the play button to run on. The page shows the run so far
in a table, then plots over time of the breakthrough rate (the rate so far, with its band of
noise), exploratory share, research time, foreign collaboration and the field groups, with the
scenario's events marked.

Compare mode runs a second setting, B, on the same seed: every lever as set, except one chosen
lever moved to another value. Both runs share their random numbers where the lever does not
change them (common random numbers), so B - A over time shows the lever's effect rather than
noise between two seeds.

Why a page of its own rather than Mesa's SolaraViz (Mesa 3.3 to 3.5): SolaraViz puts the plots
in a tab named "Page 0" and in grid cells of fixed height, shows no slider's value, redraws
every component on every step, and starts each browser session on the one model it was given.
Here each session builds its own model (`use_memo` inside the page), each slider's step divides
its default (a browser slider rounds its value to a step), the plots are small SVG drawn from
the model's history (no figure library, nothing loaded from a CDN) and only they and the table
change on a step.
"""

from __future__ import annotations

import asyncio
import html
import math
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import solara
import yaml

from sim.careers import EXPLORATORY_SHARE
from sim.collaboration import FOREIGN_COLLABORATION
from sim.mechanism import STEP_YEARS
from sim.metrics import GROUP_LABELS, GROUPS, grouped
from sim.model import METRICS, ResearchModel, spin_up_key
from sim.oversight import RESEARCH_TIME
from sim.params import ParameterError, parameter_table, policy_levers, with_overrides
from sim.production import BREAKTHROUGH_RATE
from sim.schema import Params

TITLE = "Research incentives"
COUNT = BREAKTHROUGH_RATE.of  # breakthroughs in a quarter: a step metric, also per field group
Z95 = 1.96  # a 95% band of Poisson noise: the count so far, plus or minus 1.96 of its root


@dataclass(frozen=True)
class Panel:
    """A plot: step metrics over time, as they are (`cumulative` False) or as the rate of the
    count so far per researcher-year, with its band of noise (`cumulative` True)."""

    title: str
    columns: tuple[str, ...]
    cumulative: bool = False


SO_FAR = f"{BREAKTHROUGH_RATE.label} so far ({BREAKTHROUGH_RATE.unit})"
PANELS = (
    Panel(SO_FAR, (COUNT,), cumulative=True),
    Panel(METRICS.label(EXPLORATORY_SHARE.name), (EXPLORATORY_SHARE.name,)),
    Panel(METRICS.label(RESEARCH_TIME.name), (RESEARCH_TIME.name,)),
    Panel(METRICS.label(FOREIGN_COLLABORATION.name), (FOREIGN_COLLABORATION.name,)),
    Panel(
        SO_FAR.replace(" so far", " so far by field group"),
        tuple(grouped(COUNT, g) for g in GROUPS),
        cumulative=True,
    ),
)

# The levers in the sidebar: every policy lever, in the order the mechanisms declare them.
LEVERS = tuple(policy_levers())
# Size and length get dashboard bounds inside the schema's ranges ([10, 10 million]
# researchers, [0.25, 200] years): a slider over the whole range could not pick a usable value.
BOUNDED = {"population.n_researchers": (100, 20_000, 100), "run.years": (1.0, 40.0, 1.0)}

SCENARIOS = Path(__file__).resolve().parents[1] / "configs" / "scenario"
OFF = "off"
PLACEHOLDER = {  # stands in after bad input; no burn-in, so its DataCollector stays empty
    "population.n_researchers": 10,
    "run.years": 0.25,
    "run.burn_in_years": 0.0,
}
ROWS = {row["name"]: row for row in parameter_table()}


def label(name: str) -> str:
    """A lever's label from the schema, or one derived from its dotted name."""
    group, _, key = name.partition(".")
    derived = f"{group.replace('_', ' ').capitalize()}: {key.replace('_', ' ')}"
    return ROWS[name].get("label") or derived


def short(name: str) -> str:
    """A lever's short name (for plot titles and event marks), from the schema or the name."""
    return ROWS[name].get("short") or name.replace(".", " ").replace("_", " ")


def slider_step(lo: float, hi: float, default: float) -> float:
    """The coarsest step (1, 2 or 5 times a power of ten, at most a hundredth of the range) on
    which the range's ends and the default lie: a browser slider rounds its value to a step, so
    a default between steps would change on the page."""
    lo_, hi_, default_ = (Decimal(repr(float(v))) for v in (lo, hi, default))
    span = hi_ - lo_
    top = math.floor(math.log10(float(span) / 100))
    for exponent in range(top, top - 9, -1):
        for mantissa in (5, 2, 1):
            step = Decimal(mantissa).scaleb(exponent)
            if step <= span / 100 and (default_ - lo_) % step == 0 and span % step == 0:
                return float(step)
    raise ValueError(f"no slider step fits {default} in [{lo}, {hi}]")


def lever_input(name: str) -> dict:
    """A sidebar input for one lever: its default, range and label come from the schema."""
    row = ROWS[name]
    default = row["default"]
    if isinstance(default, bool):
        return {"type": "Checkbox", "value": default, "label": label(name)}
    lo, hi, step = BOUNDED.get(name, (row["lo"], row["hi"], None))
    if step is None:  # quarter years, else a step on which the default lies
        step = 0.25 if row["unit"] == "years" else slider_step(lo, hi, default)
    kind = "SliderInt" if isinstance(default, int) else "SliderFloat"
    return {"type": kind, "value": default, "min": lo, "max": hi, "step": step,
            "label": label(name), "unit": row["unit"] if row["unit"].isalpha() else ""}  # fmt: skip


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def scenario_events(name: str) -> list[dict]:
    """The dated events of configs/scenario/NAME.yaml (plain data: no config code runs)."""
    if name not in scenario_names():
        raise ParameterError(f"events = {name!r} is not a scenario; allowed: {scenario_names()}")
    return yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text()).get("timeline") or []


def coerce_seed(seed) -> int:
    """The seed as an integer: a seed typed into the sidebar arrives as text."""
    if isinstance(seed, bool):
        raise ParameterError(f"seed = {seed!r} must be a whole number >= 0")
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ParameterError(f"seed = {seed!r} must be a whole number >= 0") from None
    if value < 0:
        raise ParameterError(f"seed = {seed!r} must be a whole number >= 0")
    return value


def coerce_position(position) -> float:
    """Compare mode's position of B's value in the lever's range: a number from 0 to 1."""
    problem = f"compare_position = {position!r} must be a number from 0 to 1"
    if isinstance(position, bool):
        raise ParameterError(problem)
    try:
        value = float(position)
    except (TypeError, ValueError):
        raise ParameterError(problem) from None
    if not 0.0 <= value <= 1.0:
        raise ParameterError(problem)
    return value


def value_at(name: str, position: float):
    """The value at `position` (0 = the low end, 1 = the high end) of a lever's range."""
    row = ROWS[name]
    if isinstance(row["default"], bool):
        return position >= 0.5
    lo, hi, _ = BOUNDED.get(name, (row["lo"], row["hi"], None))
    value = lo + float(position) * (hi - lo)
    return round(value) if isinstance(row["default"], int) else round(value, 6)


SPUN_UP: dict[str, ResearchModel] = {}  # by spin_up_key, oldest first; runs copy, never change
SPUN_UP_KEPT = 8


def spun_up_for(params: Params, seed: int) -> ResearchModel:
    """A spun-up model for `params` on `seed`, shared by every session: Reset with the same seed
    and structure, and the compare mode's two runs, skip the burn-in (sim.model, branch)."""
    key = spin_up_key(params, seed)
    base = SPUN_UP.pop(key, None) or ResearchModel.spun_up(params, seed=seed)
    SPUN_UP[key] = base
    while len(SPUN_UP) > SPUN_UP_KEPT:
        SPUN_UP.pop(next(iter(SPUN_UP)), None)
    return base


class DashboardModel(ResearchModel):
    """`ResearchModel` as the dashboard builds it from the sidebar's values (dotted names as
    keyword arguments, a seed typed as text), with an optional twin run B.

    Bad input raises `ParameterError`; with `on_bad_input="show"` (as the page builds it) the
    model runs nothing and the page shows the one-line message instead of a traceback.
    """

    def __init__(self, *, on_bad_input: str = "raise", **kwargs):
        self.input_error = ""
        try:
            self._build(**kwargs)
        except ParameterError as err:
            if on_bad_input != "show":
                raise
            self.input_error = str(err)
            super().__init__(seed=0, **PLACEHOLDER)
            self.running, self.twin, self.compare, self.events = False, None, None, []
            self.events_name = ""

    def _build(
        self,
        seed=1,
        events: str = "none",
        compare_lever: str = OFF,
        compare_position: float = 1.0,
        **kwargs,
    ):
        # every input is checked before any model is built
        seed = coerce_seed(seed)
        position = coerce_position(compare_position)
        params = with_overrides(timeline=scenario_events(events), **kwargs)
        if compare_lever not in (OFF, *LEVERS):
            raise ParameterError(
                f"compare_lever = {compare_lever!r}; allowed: {OFF} or one of {', '.join(LEVERS)}"
            )
        super().__init__(params, spun_up=spun_up_for(params, seed))
        self.events_name = events
        self.twin: ResearchModel | None = None
        self.compare: tuple[str, object, object] | None = None
        if compare_lever != OFF:
            value_b = value_at(compare_lever, position)
            self.compare = (compare_lever, lever_value(self.p, compare_lever), value_b)
            params_b = with_overrides(params, **{compare_lever: value_b})
            self.twin = spun_up_for(params_b, seed).branch(params_b)
        self.events = [dated_events(m.p) for m in (self, self.twin) if m is not None]

    def step(self):
        if self.input_error:
            return
        super().step()
        if self.twin is not None and self.twin.running:
            self.twin.step()


def lever_value(p: Params, name: str):
    group, _, key = name.partition(".")
    return getattr(getattr(p, group), key)


# --- what the plots show ------------------------------------------------------------------


def years(model: ResearchModel) -> np.ndarray:
    """The end of each quarter run so far."""
    return np.asarray(model.history["year"], dtype=float) + STEP_YEARS


def exposure(model: ResearchModel, column: str) -> np.ndarray:
    """Researcher-years so far at the end of each quarter, of the researchers `column` counts."""
    group = next((g for g in GROUPS if column == grouped(COUNT, g)), None)
    size = model.group_sizes[group] if group else model.n
    return size * STEP_YEARS * np.arange(1, len(model.history["year"]) + 1)


def so_far(model: ResearchModel, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The count so far in `column`, at the end of each quarter, and its researcher-years."""
    return np.cumsum(np.asarray(model.history[column], dtype=float)), exposure(model, column)


def noise(counts: np.ndarray, researcher_years: np.ndarray) -> np.ndarray:
    """Half the width of a 95% band of Poisson noise around a rate of `counts` per 1,000
    researcher-years (a count of 0 is read as 1: no count is no proof of a zero rate)."""
    return BREAKTHROUGH_RATE.per * Z95 * np.sqrt(np.maximum(counts, 1)) / researcher_years


def curve(model: ResearchModel, column: str, cumulative: bool):
    """A column over the run so far: the metric as it is, or (`cumulative`) its rate so far per
    1,000 researcher-years with the half-width of its 95% noise band (else None)."""
    if not cumulative:
        return np.asarray(model.history[column], dtype=float), None
    counts, researcher_years = so_far(model, column)
    return BREAKTHROUGH_RATE.per * counts / researcher_years, noise(counts, researcher_years)


def difference(model: DashboardModel, column: str, cumulative: bool):
    """B - A over the quarters both have run, with the half-width of its 95% noise band for a
    rate so far (the noise of two independent counts: common random numbers make the true
    noise of B - A smaller: a difference outside the band is unlikely to be noise)."""
    a, _ = curve(model, column, cumulative)
    b, _ = curve(model.twin, column, cumulative)
    steps = min(a.size, b.size)
    if not cumulative:
        return b[:steps] - a[:steps], None
    counts_a, researcher_years = so_far(model, column)
    counts_b, _ = so_far(model.twin, column)
    both = counts_a[:steps] + counts_b[:steps]
    return b[:steps] - a[:steps], noise(both, researcher_years[:steps])


def dated_events(p: Params) -> dict[float, list[str]]:
    """Events inside the run, by year: what changes then ('oversight intensity 0.5').

    Read before the run starts: the events themselves change `p` as they apply.
    """
    start, end = p.run.start_year, p.run.start_year + p.run.years
    found: dict[float, list[str]] = {}
    for e in p.timeline:
        # the shock's date is marked once, by its switch ('export controls enabled True')
        if start < e.year < end and e.key != "export_controls.start_year":
            found.setdefault(e.year, []).append(f"{short(e.key)} {e.value}")
    if p.export_controls.enabled and start < p.export_controls.start_year < end:
        found.setdefault(p.export_controls.start_year, []).append("export controls")
    return found


def marks(model: DashboardModel) -> dict[float, str]:
    """The events of A and of B (when comparing), by year, each year's changes in one line."""
    merged: dict[float, list[str]] = {}
    for events in model.events:
        for year, texts in events.items():
            merged.setdefault(year, []).extend(texts)
    return {year: ", ".join(dict.fromkeys(texts)) for year, texts in sorted(merged.items())}


def subtitle(model: DashboardModel) -> str:
    """'A: oversight 0.5, B: oversight 1.0': the compared lever as each run has it now (a
    dated event may have changed it since the start)."""
    lever = model.compare[0]
    now = (lever_value(m.p, lever) for m in (model, model.twin))
    return ", ".join(f"{run}: {short(lever)} {value}" for run, value in zip("AB", now, strict=True))


# --- the plots, as SVG --------------------------------------------------------------------

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 480, 46, 16, 16, 22


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values from lo to hi, about `count` of them."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def points(xs, ys) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def svg_chart(lines, span, events, height: int, zero: bool = False) -> str:
    """One chart: `lines` of (x, y, band: (low, high) or None, color, dashed), the x axis over
    `span` years, a dotted line at each event year (numbered), a line at 0 if `zero`; a dot
    marks each line's latest point.

    The y axis spans the lines and their bands' latest width: a band is widest early on, and
    is cut at the axis's ends rather than flatten the lines."""
    values = [np.asarray(y, dtype=float) for _, y, _, _, _ in lines if len(y)]
    values += [edge[-1:] for _, y, band, _, _ in lines if len(y) and band for edge in band]
    values = np.concatenate(values) if values else np.array([])
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    x0, x1 = span

    def px(x):
        return LEFT + (np.asarray(x) - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)

    def py(y):
        return TOP + (hi - np.asarray(y)) / (hi - lo) * (height - TOP - BOTTOM)

    out = [f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" font-size="11" '
           'font-family="sans-serif" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    bottom = height - BOTTOM
    for t in ticks(lo, hi):
        y = py(t)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e4e4e4"/><text x="{LEFT - 4}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{t:.4g}</text>')  # fmt: skip
    for t in ticks(x0, x1, 6):
        x = px(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" '
                   f'stroke="#555"/><text x="{x:.1f}" y="{height - 6}" '
                   f'text-anchor="middle">{t:g}</text>')  # fmt: skip
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
               f'height="{bottom - TOP}" fill="none" stroke="#999"/>')  # fmt: skip
    if zero:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(0):.1f}" y2="{py(0):.1f}" '
                   'stroke="#000" stroke-width="0.8"/>')  # fmt: skip
    for i, year in enumerate(events, start=1):
        x = px(year)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}" stroke="#888" '
                   f'stroke-dasharray="2 3"/><text x="{x:.1f}" y="{TOP - 4}" '
                   f'text-anchor="middle" fill="#444">{i}</text>')  # fmt: skip
    for x, y, band, color, dashed in lines:
        if not len(y):
            continue
        if band is not None:
            low, high = np.maximum(band[0], lo), np.minimum(band[1], hi)
            outline = points(px(x), py(high)) + " " + points(px(x)[::-1], py(low[::-1]))
            out.append(f'<polygon points="{outline}" fill="{color}" fill-opacity="0.13"/>')
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(f'<polyline class="series" points="{points(px(x), py(y))}" fill="none" '
                   f'stroke="{color}" stroke-width="1.6"{dash}/>')  # fmt: skip
        out.append(f'<circle cx="{px(x[-1]):.1f}" cy="{py(y[-1]):.1f}" r="2.2" '
                   f'fill="{"white" if dashed else color}" stroke="{color}"/>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def legend(entries) -> str:
    """A legend below the chart (never over its lines): (text, color, dashed) entries."""
    items = []
    for text, color, dashed in entries:
        style = "dashed" if dashed else "solid"
        swatch = (f'<span style="display:inline-block;width:22px;margin-right:4px;'
                  f'vertical-align:middle;border-top:2px {style} {color}"></span>')  # fmt: skip
        text = html.escape(text)
        items.append(f'<span style="margin-right:12px;white-space:nowrap">{swatch}{text}</span>')
    return f'<div style="font-size:12px;line-height:1.8">{"".join(items)}</div>'


def rate_band(rate: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A rate's noise band, from 0 at the lowest (a rate is never negative)."""
    return np.maximum(rate - half, 0.0), rate + half


def panel_html(model: DashboardModel, panel: Panel) -> str:
    """A panel: its title, the chart of A (and B), the chart of B - A when comparing, a legend
    and, for a rate so far, what its band means."""
    twin = model.twin
    span = (model.p.run.start_year, model.p.run.start_year + model.p.run.years)
    events = marks(model)
    grouped_panel = len(panel.columns) > 1
    lines, entries, differences = [], [], []
    for i, column in enumerate(panel.columns):
        color = COLORS[i % len(COLORS)]
        tag = GROUP_LABELS[column.removeprefix(COUNT + "_")] if grouped_panel else "A"
        banded = panel.cumulative and not grouped_panel
        y, half = curve(model, column, panel.cumulative)
        lines.append((years(model), y, rate_band(y, half) if banded else None, color, False))
        entries.append((tag, color, False))
        if twin is not None:
            y, half = curve(twin, column, panel.cumulative)
            lines.append((years(twin), y, rate_band(y, half) if banded else None, color, True))
            entries.append((f"{tag} (B)" if grouped_panel else "B", color, True))
            d, half = difference(model, column, panel.cumulative)
            band = (d - half, d + half) if banded else None
            differences.append((years(model)[: d.size], d, band, color, False))
    parts = [f'<div class="panel-title">{html.escape(panel.title)}</div>']
    if twin is not None:
        parts.append(f'<div class="panel-subtitle">{html.escape(subtitle(model))}</div>')
    parts.append(svg_chart(lines, span, events, height=190))
    if twin is not None:
        parts.append('<div class="panel-subtitle">B - A</div>')
        parts.append(svg_chart(differences, span, events, height=120, zero=True))
    if grouped_panel or twin is not None:
        parts.append(legend(entries))
    if panel.cumulative:
        note = html.escape(noise_note(model, grouped_panel))
        parts.append(f'<div class="panel-note">{note}</div>')
    return "".join(parts)


def noise_note(model: DashboardModel, grouped_panel: bool) -> str:
    if grouped_panel:
        shares = sorted(model.group_sizes[g] / model.n for g in GROUPS)
        ends = (shares[0], shares[-1])
        held = " to ".join(dict.fromkeys(f"{s:.0%}" for s in ends))
        wider = " to ".join(dict.fromkeys(f"{s**-0.5:.1f}" for s in reversed(ends)))
        return (f"Each field group holds {held} of the researchers: its noise band (not "
                f"drawn) is {wider} times as wide as the overall rate's.")  # fmt: skip
    return ("The rate of all breakthroughs so far; shaded: its 95% band of Poisson noise. "
            "Early on, and at a few thousand researchers, most of a change or of B - A is "
            "noise: a B - A inside its band may be nothing.")  # fmt: skip


# --- the run so far in numbers ------------------------------------------------------------

SUMMARY = tuple(
    (name, METRICS.label(name))
    for name in (
        BREAKTHROUGH_RATE.name,
        "mean_exploratory_share",
        "mean_research_time_share",
        "mean_foreign_collaboration_share",
    )
)


def summary_rows(model: DashboardModel) -> list[list[str]]:
    """The table of the run so far: a metric, A (and B, B - A); the breakthrough rate with the
    half-width of its 95% noise band."""
    if not model.steps:
        return []
    twin = model.twin if model.twin is not None and model.twin.steps else None
    a = model.run_metrics()
    b = twin.run_metrics() if twin is not None else None
    rows = []
    for key, text in SUMMARY:
        row = [text, f"{a[key]:.3g}"]
        if b is not None:
            row += [f"{b[key]:.3g}", f"{b[key] - a[key]:+.3g}"]
        if key == BREAKTHROUGH_RATE.name:
            row[1] += f" ± {curve(model, COUNT, cumulative=True)[1][-1]:.2g}"
            if b is not None:
                row[2] += f" ± {curve(twin, COUNT, cumulative=True)[1][-1]:.2g}"
                row[3] += f" ± {difference(model, COUNT, cumulative=True)[1][-1]:.2g}"
        rows.append(row)
    return rows


def summary_lines(model: DashboardModel) -> tuple[str, list[str]]:
    """The summary's heading and its lines below the table: the settings and the events."""
    if model.input_error:
        return (f"Bad input: {model.input_error}. Change it in the sidebar and press Reset.", [])
    p = model.p
    changed = {name: lever_value(p, name) for name in LEVERS}
    changed = {k: v for k, v in changed.items() if v != ROWS[k]["default"]}
    heading = (
        f"Step {model.steps} of {model.total_steps}, seed {model.seed}, "
        f"events: {model.events_name}, {p.population.n_researchers} researchers"
    )
    lines = [
        "Setting A now: "
        + (", ".join(f"{k} = {v}" for k, v in changed.items()) or "the defaults")
        + (" (the rest at the defaults)" if changed else "")
    ]
    if model.twin is not None:
        lever, _, b = model.compare
        lines.append(f"Setting B: the same with {lever} = {b}, on the same seed")
        dates = [f"{e.year:g}" for e in model.p.timeline if e.key == lever]
        if dates:
            lines[-1] += (f" (the dated events set {lever} in both settings, "
                          f"at {', '.join(dates)})")  # fmt: skip
    events = marks(model)
    if events:
        numbered = (f"{i}. {year:g}: {text}" for i, (year, text) in enumerate(events.items(), 1))
        lines.append("Events (numbered in the plots): " + "; ".join(numbered))
    return heading, lines


def summary_html(model: DashboardModel) -> str:
    """The run so far: the heading, the table (A, B, B - A) first, then settings and events."""
    heading, lines = summary_lines(model)
    out = [f'<div class="summary-heading"><b>{html.escape(heading)}</b></div>']
    rows = summary_rows(model)
    if rows:
        head = ["so far", "A", *(["B", "B - A"] if len(rows[0]) > 2 else [])]
        out.append('<table class="summary-table"><tr>'
                   + "".join(f"<th>{h}</th>" for h in head) + "</tr>")  # fmt: skip
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        out.append("</table>")
        out.append('<div class="panel-note">±: the 95% band of Poisson noise in the '
                   "breakthrough count so far.</div>")  # fmt: skip
    out += [f"<div>{html.escape(line)}</div>" for line in lines]
    return "".join(out)


# --- the page -----------------------------------------------------------------------------

INPUTS = {
    "seed": {"type": "InputText", "value": "1", "label": "Seed (a whole number)"},
    "events": {
        "type": "Select",
        "value": "none",
        "values": scenario_names(),
        "label": "Dated events (configs/scenario)",
    },
    "population.n_researchers": lever_input("population.n_researchers"),
    "run.years": lever_input("run.years"),
    **{name: lever_input(name) for name in LEVERS},
    "compare_lever": {
        "type": "Select",
        "value": OFF,
        "values": [OFF, *LEVERS],
        "label": "Compare: the lever setting B changes",
    },
    "compare_position": {
        "type": "SliderFloat",
        "value": 1.0,
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
        "label": "B's value",
    },
}
PLAY_PAUSE = 0.02  # seconds between two steps when playing: the page catches up meanwhile
CSS = """
.lever .v-input { margin-top: 0 !important; padding-top: 0 !important; }
.lever .v-messages { display: none; }
.lever-label { font-size: 13px; color: rgba(0,0,0,.7); }
.lever-value { font-weight: 600; color: rgba(0,0,0,.87); }
.summary { font-size: 14px; }
.summary-table { border-collapse: collapse; margin: 6px 0; font-size: 14px; }
.summary-table th:first-child { text-align: left; }
.summary-table th, .summary-table td { padding: 2px 10px; border-bottom: 1px solid #ddd; }
.summary-table td:not(:first-child), .summary-table th:not(:first-child) { text-align: right; }
.panel-title { font-size: 13px; font-weight: 600; }
.panel-subtitle, .panel-note { font-size: 12px; color: #555; }
.panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr));
          gap: 18px; margin-top: 12px; }
"""


def initial_values() -> dict:
    return {name: spec["value"] for name, spec in INPUTS.items()}


def build(values: dict) -> DashboardModel:
    return DashboardModel(on_bad_input="show", **values)


def shown(value) -> str:
    """A slider's value as the sidebar shows it."""
    return f"{value:g}" if isinstance(value, float) else str(value)


@solara.component
def Input(name: str, values: solara.Reactive[dict]):
    """One sidebar input; a slider shows its value beside its label, both above the track."""
    spec, value = INPUTS[name], values.value[name]

    def set_value(new):
        values.value = {**values.value, name: new}

    kind = spec["type"]
    if kind == "InputText":
        solara.InputText(spec["label"], value=str(value), on_value=set_value)
    elif kind == "Select":
        solara.Select(spec["label"], values=spec["values"], value=value, on_value=set_value)
    elif kind == "Checkbox":
        solara.Checkbox(label=spec["label"], value=value, on_value=set_value)
    else:
        text = spec["label"]
        if name == "compare_position":
            lever = values.value["compare_lever"]
            text = f"B's {label(lever)}" if lever != OFF else "B's value (choose a lever)"
            value_text = shown(value_at(lever, value)) if lever != OFF else shown(value)
        else:
            value_text = f"{shown(value)} {spec.get('unit', '')}".strip()
        slider = solara.SliderInt if kind == "SliderInt" else solara.SliderFloat
        with solara.Column(gap="0px", classes=["lever"]):
            solara.HTML(tag="div", classes=["lever-label"],
                        unsafe_innerHTML=f'{html.escape(text)}: <span class="lever-value">'
                        f"{html.escape(value_text)}</span>")  # fmt: skip
            slider("", value=value, on_value=set_value, min=spec["min"], max=spec["max"],
                   step=spec["step"], thumb_label=False)  # fmt: skip


@solara.component
def Controls(model: DashboardModel, steps: solara.Reactive[int], lock, on_reset):
    """Reset, play or pause, and Step; `steps` counts the quarters run (the page's clock).

    Play steps in a thread of its own: `lock` keeps the page from drawing a model halfway
    through a step (its columns of unequal length)."""
    playing = solara.use_reactive(False)
    steps.value  # noqa: B018  (drawn again on every step: Step turns off at the run's end)
    running = model.running

    def step():
        with lock:
            model.step()
        steps.value = model.steps

    async def play():
        while playing.value and model.running:
            step()
            await asyncio.sleep(PLAY_PAUSE)
        playing.value = False

    solara.lab.use_task(play, dependencies=[playing.value, model])

    def reset():
        playing.value = False
        on_reset()

    with solara.Row(justify="space-between"):
        solara.Button("Reset", color="primary", on_click=reset)
        solara.Button("❚❚" if playing.value else "▶", color="primary", disabled=not running,
                      on_click=lambda: playing.set(not playing.value))  # fmt: skip
        solara.Button("Step", color="primary", on_click=step,
                      disabled=playing.value or not running)  # fmt: skip
    solara.Text("Reset builds a model with the settings below.",
                style={"font-size": "12px", "color": "#555"})  # fmt: skip


@solara.component
def Results(model: DashboardModel, steps: solara.Reactive[int], lock):
    """The table and the plots of the run so far, drawn again when `steps` moves."""
    steps.value  # noqa: B018  (subscribes this component to the steps, not the sidebar)
    with lock:
        summary = summary_html(model)
        panels = [] if model.input_error else [panel_html(model, panel) for panel in PANELS]
    solara.HTML(tag="div", classes=["summary"], unsafe_innerHTML=summary)
    with solara.Div(classes=["panels"]):
        for panel in panels:
            solara.HTML(tag="div", classes=["panel"], unsafe_innerHTML=panel)


@solara.component
def Page():
    """The dashboard: every browser session builds and runs a model of its own."""
    values = solara.use_reactive(initial_values())
    first = solara.use_memo(lambda: build(initial_values()), [])
    model = solara.use_reactive(first)
    steps = solara.use_reactive(0)
    lock = solara.use_memo(threading.Lock, [])

    def reset():
        model.value = build(values.value)
        steps.value = 0

    solara.Title(TITLE)
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Card("Run"):
            Controls(model.value, steps, lock, reset)
        with solara.Card("Settings"):
            for name in INPUTS:
                Input(name, values)
    Results(model.value, steps, lock)
