"""A SolaraViz dashboard of the model, in Mesa's `app.py` convention: `make app`.

(`solara run sim/app.py`, then open http://localhost:8765.) The sidebar holds the main levers,
with the schema's ranges and labels (sim/params.py), a seed, the dated events of a scenario
(configs/scenario/) and the compare mode; press Reset to build a model with them, Step to run a
quarter, the play button to run on. The plots follow the breakthrough rate, exploratory share,
research time, foreign collaboration and the field groups over time, with the scenario's events
marked.

Compare mode runs a second setting, B, on the same seed: every lever as set, except one chosen
lever moved to another value. Both runs share their random numbers where the lever does not
change them (common random numbers), so B - A over time shows the lever's effect rather than
noise between two seeds.

Mesa 3.3 and 3.5 both build the model from the sidebar's values as keyword arguments, which the
thin subclass `DashboardModel` takes (see its docstring for the traps this avoids).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import solara
import yaml
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.careers import EXPLORATORY_SHARE
from sim.collaboration import FOREIGN_COLLABORATION
from sim.mechanism import STEP_YEARS
from sim.metrics import GROUPS, QUARTERLY, grouped
from sim.model import METRICS, ResearchModel
from sim.oversight import RESEARCH_TIME
from sim.params import ParameterError, Params, parameter_table, with_overrides
from sim.production import BREAKTHROUGH_RATE

# The per-step metrics plotted, one panel each: (title, names in sim.model.STEP_METRICS, whether
# to show 4-quarter means: a quarter's breakthrough count is too noisy to read).
RATE = QUARTERLY + BREAKTHROUGH_RATE.name
PANELS = (
    (METRICS.label(BREAKTHROUGH_RATE.name), (RATE,), True),
    (METRICS.label(EXPLORATORY_SHARE.name), (EXPLORATORY_SHARE.name,), False),
    (METRICS.label(RESEARCH_TIME.name), (RESEARCH_TIME.name,), False),
    (METRICS.label(FOREIGN_COLLABORATION.name), (FOREIGN_COLLABORATION.name,), False),
    (
        f"{BREAKTHROUGH_RATE.label} by field group ({BREAKTHROUGH_RATE.unit})",
        tuple(grouped(RATE, g) for g in GROUPS),
        True,
    ),
)

# The levers in the sidebar (dotted names of sim/params.py), in this order.
LEVERS = (
    "incentives.publication_weight",
    "incentives.failure_tolerance",
    "incentives.evaluation_window_years",
    "oversight.intensity",
    "leadership.merged_share",
    "leadership.technocrat_share",
    "guanxi.weight",
    "export_controls.enabled",
    "export_controls.severity",
    "export_controls.self_reliance_funding",
)
# Size and length get dashboard bounds inside the schema's ranges ([10, 10 million]
# researchers, [0.25, 200] years): a slider over the whole range could not pick a usable value,
# and the page redraws after every step.
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


def user_input(name: str) -> dict:
    """A SolaraViz input for one lever: its default, range and label come from the schema."""
    row = ROWS[name]
    if isinstance(row["default"], bool):
        return {"type": "Checkbox", "value": row["default"], "label": label(name)}
    lo, hi, step = BOUNDED.get(name, (row["lo"], row["hi"], None))
    if isinstance(row["default"], int):
        return {"type": "SliderInt", "value": row["default"], "min": lo, "max": hi,
                "step": step or 1, "label": label(name)}  # fmt: skip
    if step is None:  # quarter years, else a hundredth of the range
        step = 0.25 if row["unit"] == "years" else round((hi - lo) / 100, 6)
    return {"type": "SliderFloat", "value": row["default"], "min": lo, "max": hi,
            "step": step, "label": label(name)}  # fmt: skip


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


def value_at(name: str, position: float):
    """The value at `position` (0 = the low end, 1 = the high end) of a lever's range."""
    row = ROWS[name]
    if isinstance(row["default"], bool):
        return position >= 0.5
    lo, hi, _ = BOUNDED.get(name, (row["lo"], row["hi"], None))
    value = lo + float(position) * (hi - lo)
    return round(value) if isinstance(row["default"], int) else round(value, 6)


class DashboardModel(ResearchModel):
    """`ResearchModel` as the dashboard builds it, with an optional twin run B.

    Mesa's SolaraViz builds the model again on Reset, passing the sidebar's values as keyword
    arguments. Three traps are avoided here, not in sim/model.py:
    - Mesa 3.3 requires every argument of `__init__` without a default unless it is named
      exactly `kwargs` ("Missing required model parameter: overrides"), so the catch-all is
      `**kwargs` here;
    - a seed typed into the sidebar arrives as text, which numpy's `SeedSequence` rejects;
    - Mesa 3.5 passes its own `scenario` object on Reset; this model has no use for it (the
      project's scenarios are dated events, chosen here as `events`).

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

    def _build(
        self,
        seed=1,
        events: str = "none",
        compare_lever: str = OFF,
        compare_position: float = 1.0,
        scenario=None,  # Mesa 3.5's Scenario object (see above)
        **kwargs,
    ):
        # every input is checked before any model is built
        seed = coerce_seed(seed)
        params = with_overrides(timeline=scenario_events(events), **kwargs)
        if compare_lever not in (OFF, *LEVERS):
            raise ParameterError(
                f"compare_lever = {compare_lever!r}; allowed: {OFF} or one of {', '.join(LEVERS)}"
            )
        super().__init__(params, seed=seed)
        self.events_name = events
        self.twin: ResearchModel | None = None
        self.compare: tuple[str, object, object] | None = None
        if compare_lever != OFF:
            value_b = value_at(compare_lever, compare_position)
            self.compare = (compare_lever, lever_value(self.p, compare_lever), value_b)
            self.twin = ResearchModel(params, seed=seed, **{compare_lever: value_b})
        self.events = [dated_events(m.p) for m in (self, self.twin) if m is not None]

    def step(self):
        if self.input_error:
            return
        super().step()
        if self.twin is not None and self.twin.running:
            self.twin.step()


# --- what the plots show ------------------------------------------------------------------


def series(model: ResearchModel, name: str, smoothed: bool = False) -> np.ndarray:
    """A per-step metric over the run so far; `smoothed`: the mean of the last 4 quarters."""
    values = np.asarray(model.datacollector.model_vars[name], dtype=float)
    if smoothed and values.size:
        kernel = np.ones(min(4, values.size))
        values = np.convolve(values, kernel, "full")[: values.size]
        values /= np.minimum(np.arange(1, values.size + 1), kernel.size)
    return values


def years(model: ResearchModel) -> np.ndarray:
    return np.asarray(model.datacollector.model_vars["year"], dtype=float) + STEP_YEARS


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


def draw_marks(ax, model: DashboardModel, numbered: bool) -> None:
    """A dotted line at each event, numbered as in the summary's list of events."""
    circle = {"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "0.55", "lw": 0.5}
    for i, year in enumerate(marks(model), start=1):
        ax.axvline(year, color="0.55", linestyle=":", linewidth=1)
        if numbered:
            ax.text(year, 0.97, str(i), ha="center", va="top", fontsize=7, color="0.3",
                    transform=ax.get_xaxis_transform(), bbox=circle)  # fmt: skip


def panel(title: str, names: tuple[str, ...], smoothed: bool):
    """A SolaraViz component: the panel's metrics over time; in compare mode A, B and B - A."""
    heading = f"{title}, 4-quarter mean" if smoothed else title

    def component(model: DashboardModel):
        if model.input_error:
            return solara.Text("")
        twin = model.twin
        fig = Figure(figsize=(6.4, 4.2 if twin is not None else 3.2), layout="constrained")
        axes = fig.subplots(2 if twin is not None else 1, 1, sharex=True, squeeze=False)[:, 0]
        span = (model.p.run.start_year, model.p.run.start_year + model.p.run.years)
        x = years(model)
        for i, name in enumerate(names):
            color = f"C{i}"
            tag = name.removeprefix(RATE + "_") if len(names) > 1 else "A"
            a = series(model, name, smoothed)
            axes[0].plot(x, a, color=color, label=tag)
            if twin is not None:
                b = series(twin, name, smoothed)
                axes[0].plot(years(twin), b, color=color, linestyle="--",
                             label=f"{tag} (B)" if len(names) > 1 else "B")  # fmt: skip
                steps = min(b.size, x.size)
                axes[1].plot(x[:steps], b[:steps] - a[:steps], color=color, label=tag)
        axes[0].set_title(heading, fontsize=10)
        if twin is not None:
            lever, value_a, value_b = model.compare
            name = short(lever)
            axes[0].set_title(f"{heading}\nA: {name} {value_a}, B: {name} {value_b}", fontsize=9)
            axes[1].axhline(0.0, color="black", linewidth=0.8)
            axes[1].set_ylabel("B - A", fontsize=9)
        if len(names) > 1 or twin is not None:
            axes[0].legend(fontsize=7, ncol=4, loc="lower left")
        for k, ax in enumerate(axes):
            ax.set_xlim(*span)
            ax.tick_params(labelsize=8)
            draw_marks(ax, model, numbered=k == 0)
        axes[-1].set_xlabel("year", fontsize=9)
        return solara.FigureMatplotlib(fig, format="png", dpi=90)

    component.__name__ = f"Panel_{names[0]}"
    return component


SUMMARY = tuple(
    (name, METRICS.label(name))
    for name in (
        BREAKTHROUGH_RATE.name,
        "mean_exploratory_share",
        "mean_research_time_share",
        "mean_foreign_collaboration_share",
    )
)


def summary(model: DashboardModel):
    """A SolaraViz component: the run so far in numbers (`summary_text`)."""
    with solara.Column(style={"height": "100%", "overflow-y": "auto"}) as column:
        solara.Markdown(summary_text(model))
    return column


def summary_text(model: DashboardModel) -> str:
    """Step, seed, the settings and the run's metrics so far, for A, B and B - A."""
    if model.input_error:
        return f"**Bad input:** {model.input_error}. Change it in the sidebar and press Reset."
    p = model.p
    changed = {name: lever_value(p, name) for name in LEVERS}
    changed = {k: v for k, v in changed.items() if v != ROWS[k]["default"]}
    lines = [
        f"**Step {model.steps} of {model.total_steps}**, seed {model.seed}, "
        f"events: {model.events_name}, {p.population.n_researchers} researchers",
        "",
        "Setting A now: "
        + (", ".join(f"{k} = {v}" for k, v in changed.items()) or "the defaults")
        + (" (the rest at the defaults)" if changed else ""),
    ]
    events = marks(model)
    if events:
        lines += ["", "Events (numbered in the plots):", ""]
        lines += [f"{i}. {year:g}: {text}" for i, (year, text) in enumerate(events.items(), 1)]
    twin = model.twin
    if twin is not None:
        lever, _, b = model.compare
        lines += ["", f"Setting B: the same with {lever} = {b}, on the same seed"]
        dates = [f"{e.year:g}" for e in model.p.timeline if e.key == lever]
        if dates:
            lines.append(f"(the dated events set {lever} in both settings, at {', '.join(dates)})")
    if model.steps:
        a = model.run_metrics()
        header = "| so far | A |" + (" B | B - A |" if twin is not None else "")
        lines += ["", header, "|---|---|" + ("---|---|" if twin is not None else "")]
        b = twin.run_metrics() if twin is not None and twin.steps else None
        for key, text in SUMMARY:
            row = f"| {text} | {a[key]:.3g} |"
            if b is not None:
                row += f" {b[key]:.3g} | {b[key] - a[key]:+.3g} |"
            lines.append(row)
    return "\n".join(lines)


def lever_value(p: Params, name: str):
    group, _, key = name.partition(".")
    return getattr(getattr(p, group), key)


# --- the page -----------------------------------------------------------------------------

model_params = {
    "seed": {"type": "InputText", "value": "1", "label": "Seed (a whole number)"},
    "events": {
        "type": "Select",
        "value": "none",
        "values": scenario_names(),
        "label": "Dated events (configs/scenario)",
    },
    "population.n_researchers": user_input("population.n_researchers"),
    "run.years": user_input("run.years"),
    **{name: user_input(name) for name in LEVERS},
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
        "label": "Compare: B's value, from the lever's lowest (0) to highest (1)",
    },
    "on_bad_input": "show",  # fixed: passed on every Reset
}


def initial_values() -> dict:
    return {k: v["value"] if isinstance(v, dict) else v for k, v in model_params.items()}


model = DashboardModel(**initial_values())
page = SolaraViz(
    model,
    components=[summary, *(panel(*spec) for spec in PANELS)],
    model_params=model_params,
    name="Research incentives",
)
page  # noqa: B018  (Solara shows the module's `page`)
