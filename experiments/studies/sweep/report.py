"""A reviewer's report from a sweep folder: statistics, figures and provenance on one page.

    python -m experiments.report SWEEP_DIR [--out DIR] [--title TEXT] [--question TEXT]

Aggregates the sweep (`experiments.aggregate`), computes each arm's means with 95% bootstrap CIs
and the paired contrasts against a reference arm (`experiments.stats`), draws the figures that
apply to the levers the sweep varied (`experiments.report_figures`), and writes into DIR
(default: SWEEP_DIR/report): `report.md` (readable on GitHub), `report.html`, `summary.csv`
(one row per arm and metric), `contrasts.csv` (each arm against the reference, per metric) and
`periods.csv` (the breakthrough rate per arm and 5-year period of the run), for a sweep of the
technocrat share across the leadership channels `decomposition.csv`
(`analysis/decomposition.py`), and `figures/`. Every file is written to a temporary name and
renamed into place. Each main effect of a lever a committed uncertainty analysis measured says
at what share of the plausible space its sign holds (`results/sensitivity/robustness.csv`) and
its spread over the calibration's accepted parameter sets, which adds parameter uncertainty to
the seed-only interval (`results/posterior/robustness.csv`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.model import catalog
from sim.production import BREAKTHROUGH_RATE

from ...analysis import decomposition, stats
from ...engine import io
from ...engine.catalog import question_for as catalog_question
from ...present import figures, technocrat_channels
from ...present.report_document import Document
from ...present.report_figures import Figure, make_figures

SHOCK_LEVER = figures.SHOCK_LEVER
AFTER_SHOCK = figures.AFTER_SHOCK
HEADLINE = BREAKTHROUGH_RATE.name
PROJECT_ROOT = Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class Uncertainty:
    """A committed uncertainty analysis (experiments.sensitivity): per lever and outcome, where
    the effect has its sign over the analysis's points, and the contrasts it measured."""

    name: str  # what its points are
    report: str
    table: str
    design: str
    points: str  # how the note describes them


UNCERTAINTY = (
    Uncertainty(
        "the plausible space",
        "results/sensitivity/report.md",
        "results/sensitivity/robustness.csv",
        "configs/uncertainty/screening.yaml",
        "points of the plausible ranges of the model's structural parameters",
    ),
    Uncertainty(
        "the accepted ensemble",
        "results/posterior/report.md",
        "results/posterior/robustness.csv",
        "configs/uncertainty/posterior.yaml",
        "parameter sets the calibration accepted, each the status quo of its burn-in",
    ),
)
SENSITIVITY_REPORT = UNCERTAINTY[0].report
FEW_SEEDS = 10  # below this many seeds a bootstrap interval is too unsteady to judge by


# Every declared run metric but the totals, which the rates carry (sim.METRICS).
def is_total(name: str) -> bool:
    return catalog().run(name).how == "sum"


def run_metrics() -> list[str]:
    """Every declared run metric but the totals, which the rates carry."""
    return [name for name in catalog().run_names if name != "years" and not is_total(name)]


def units_note(metrics: list[str]) -> str:
    """'Units: breakthrough rate, breakthroughs per 1,000 researcher-years; ...'."""
    parts = []
    for metric in metrics:
        head, _, unit = figures.metric_label(metric).partition(" (")
        if unit:
            parts.append(f"{figures.metric_short(metric)}: {unit.removesuffix(')')}")
    return "Units: " + "; ".join(parts) + "." if parts else ""


def lever_metrics(lever: str) -> list[str]:
    """The metrics that speak to a lever, after the headline (design section 3), from the
    metrics' declarations; the shock's switch adds the fields' rates after the shock, and the
    other levers of its group (its strength, the response) the exposed fields' rate."""
    if lever == SHOCK_LEVER:
        return [AFTER_SHOCK + m for m in after_shock_columns()]
    if lever.partition(".")[0] == SHOCK_LEVER.partition(".")[0]:
        return [AFTER_SHOCK + figures.quarterly_rate("exposed"), *catalog().answering(lever)]
    return catalog().answering(lever)


def after_shock_columns() -> list[str]:
    """Step columns averaged over the steps from the shock: exposed and other fields' rates and
    what else speaks to the shock."""
    spoken = [catalog().run(m).of for m in catalog().answering(SHOCK_LEVER)]
    return [figures.quarterly_rate("exposed"), figures.quarterly_rate("unexposed"), *spoken]


class ReportError(Exception):
    """The sweep folder cannot be reported on (missing, empty, or not a sweep)."""


# --- the sweep, as the report needs it ---------------------------------------------------------


@dataclasses.dataclass
class SweepData:
    """What the report reads from an aggregated sweep (`adapt` maps the aggregator's output)."""

    directory: Path
    replicates: pd.DataFrame
    timeseries: pd.DataFrame
    levers: list[str]
    fixed: dict
    missing: list[str]
    provenance: dict
    implied: dict = dataclasses.field(default_factory=dict)  # preset -> the levers it sets


def implied_by_choices(replicates: pd.DataFrame, levers: list[str]) -> dict[str, list[str]]:
    """Dotted levers that a named preset lever determines (e.g. `incentives` = count_heavy sets
    `incentives.publication_weight`): the report varies the preset, not its parts."""
    implied = {}
    for choice in (lever for lever in levers if "." not in lever):
        parts = [
            lever
            for lever in levers
            if lever.startswith(f"{choice}.")
            and replicates.groupby(choice)[lever].nunique(dropna=False).max() == 1
        ]
        if parts:
            implied[choice] = parts
    return implied


def _as_bool_if_textual(column: pd.Series) -> pd.Series:
    """'True'/'False' read back from CSV become booleans again."""
    if column.dtype == object and set(column.dropna().astype(str)) <= {"True", "False"}:
        return column.astype(str) == "True"
    return column


def adapt(sweep, directory: str | Path) -> SweepData:
    """Map `experiments.aggregate.Sweep` onto SweepData, tolerating small naming differences."""
    replicates = sweep.replicates.copy()
    timeseries = pd.DataFrame() if sweep.timeseries is None else sweep.timeseries.copy()
    for frame in (replicates, timeseries):
        if "seed" not in frame.columns and "run.seed" in frame.columns:
            frame["seed"] = frame["run.seed"]
        if "job" not in frame.columns and not frame.empty:
            frame["job"] = 0
    levers = [lever for lever in sweep.levers if lever in replicates.columns]
    for lever in levers:
        replicates[lever] = _as_bool_if_textual(replicates[lever])
        if lever in timeseries.columns:
            timeseries[lever] = _as_bool_if_textual(timeseries[lever])
    implied = implied_by_choices(replicates, levers)
    hidden = {lever for parts in implied.values() for lever in parts}
    return SweepData(
        directory=Path(directory),
        replicates=replicates,
        timeseries=timeseries,
        levers=[lever for lever in levers if lever not in hidden],
        implied=implied,
        fixed=dict(sweep.fixed or {}),
        missing=[str(job) for job in (sweep.missing or [])],
        provenance=dict(sweep.provenance or {}),
    )


def load_sweep(sweep_dir: str | Path, allow_mixed_code: bool = False) -> SweepData:
    """Aggregate a sweep folder; ReportError if it is not one, holds no finished job or (unless
    allow_mixed_code) holds jobs of several versions of the model code."""
    directory = Path(sweep_dir)
    if not directory.is_dir():
        raise ReportError(f"sweep folder '{sweep_dir}' does not exist or is not a folder")
    from .aggregate import aggregate

    try:
        sweep = aggregate(directory, allow_mixed_code=allow_mixed_code)
    except (OSError, ValueError, KeyError) as error:
        raise ReportError(f"cannot aggregate '{sweep_dir}': {error}") from error
    if sweep.replicates is None or sweep.replicates.empty:
        raise ReportError(f"'{sweep_dir}' holds no completed job (no replicates.csv found)")
    return adapt(sweep, directory)


def model_defaults() -> dict:
    """Every parameter's default, by dotted name (the reference arm prefers these)."""
    from sim import parameter_table
    from sim.model import parameters

    return {row["name"]: row["default"] for row in parameter_table(parameters())}


def shock_start(data: SweepData) -> float:
    start = data.fixed.get("export_controls.start_year")
    return float(start) if start is not None else model_defaults()["export_controls.start_year"]


def add_after_shock_metrics(data: SweepData, start_year: float) -> list[str]:
    """Per replicate, mean field-group rates and collaboration over the steps from the shock."""
    metrics = after_shock_columns()
    after = data.timeseries[data.timeseries["year"] >= start_year - 1e-9]
    if after.empty:
        return []
    means = after.groupby(["job", "seed"])[metrics].mean().add_prefix(AFTER_SHOCK)
    data.replicates = data.replicates.drop(columns=means.columns, errors="ignore").merge(
        means.reset_index(), on=["job", "seed"], how="left"
    )
    return list(means.columns)


# --- numbers and tables ------------------------------------------------------------------------


number = figures.number


def signed(x) -> str:
    text = number(x)
    return f"+{text}" if x is not None and x > 0 else text


def interval(low, high) -> str:
    return f"[{number(low)}, {number(high)}]"


def results_table(summary: pd.DataFrame, levers, reference, metrics) -> pd.DataFrame:
    """One row per arm: lever values, 'mean [CI]' per metric, and n."""
    by_arm = summary.set_index([*levers, "metric"])
    rows = []
    for arm in stats.arms(summary, levers):
        row = {lv: figures.format_value(v) for lv, v in zip(levers, arm, strict=True)}
        if arm == tuple(reference) and levers:
            row[levers[0]] += " (reference)"
        counts = []
        for metric in metrics:
            cell = by_arm.loc[(*arm, metric) if levers else metric]  # one arm: no lever
            row[figures.metric_short(metric)] = (
                f"{number(cell['mean'])} {interval(cell['ci_low'], cell['ci_high'])}"
            )
            counts.append(cell["n"])
        row["n"] = figures.n_phrase(counts).removeprefix("n = ")
        rows.append(row)
    return pd.DataFrame(rows)


PERIOD_YEARS = 5


def period_rates(data: SweepData, levers, period_years: float = PERIOD_YEARS) -> pd.DataFrame:
    """Per arm and period of the run, the breakthrough rate's mean [CI] over replicates.

    Each replicate averages its quarterly rates within a period (so a rate stays a rate); the
    periods count from the run's first recorded year, the last one possibly shorter. Columns:
    levers..., period, first_year, last_year, mean, ci_low, ci_high, n.
    """
    column = figures.quarterly_rate()
    series = data.timeseries
    columns = [*levers, "period", "first_year", "last_year", "mean", "ci_low", "ci_high", "n"]
    if series.empty or column not in series.columns:
        return pd.DataFrame(columns=columns)
    start = series["year"].min()
    period = np.floor((series["year"] - start) / period_years + 1e-9).astype(int)
    frame = series.assign(period=period)
    per_replicate = frame.groupby(["job", "seed", "period"])[column].mean().rename("rate")
    bounds = frame.groupby("period")["year"].agg(["min", "max"])
    arm_of = frame.drop_duplicates("job").set_index("job")[list(levers)]
    per_replicate = per_replicate.reset_index().join(arm_of, on="job")
    rows = []
    for arm in stats.arms(per_replicate, levers):
        subset = stats.select(per_replicate, levers, arm)
        for number_, group in subset.groupby("period"):
            estimate = stats.mean_ci(group["rate"].to_numpy())
            rows.append(
                {
                    **dict(zip(levers, arm, strict=True)),
                    "period": int(number_),
                    "first_year": float(bounds.loc[number_, "min"]),
                    "last_year": float(bounds.loc[number_, "max"]),
                    **dataclasses.asdict(estimate),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def period_label(first_year: float, last_year: float) -> str:
    """'2015–2019' (or '2035' for one year): the calendar years a period's quarters fall in."""
    first, last = int(np.floor(first_year)), int(np.floor(last_year))
    return f"{first}" if first == last else f"{first}–{last}"


def period_table(periods: pd.DataFrame, levers) -> pd.DataFrame:
    """One row per arm, one column per period: the breakthrough rate's mean [CI]."""
    rows = []
    labels = {
        p: period_label(first, last)
        for p, first, last in periods[["period", "first_year", "last_year"]]
        .drop_duplicates("period")
        .itertuples(index=False)
    }
    for arm in stats.arms(periods, levers):
        subset = stats.select(periods, levers, arm).set_index("period")
        row = {lv: figures.format_value(v) for lv, v in zip(levers, arm, strict=True)}
        for period, label in labels.items():
            cell = subset.loc[period]
            row[label] = f"{number(cell['mean'])} {interval(cell['ci_low'], cell['ci_high'])}"
        row["n"] = figures.n_phrase(subset["n"]).removeprefix("n = ")
        rows.append(row)
    return pd.DataFrame(rows)


def contrast_rows(contrasts: pd.DataFrame, levers, metric: str) -> pd.DataFrame:
    rows = []
    for _, c in contrasts[contrasts["metric"] == metric].iterrows():
        rows.append(
            {
                "arm": figures.arm_label(levers, tuple(c[levers])),
                "difference [paired 95% CI]": f"{signed(c['difference'])} "
                + interval(c["ci_low"], c["ci_high"]),
                "unpaired 95% CI": interval(c["unpaired_ci_low"], c["unpaired_ci_high"]),
                "pairing narrows CI by": f"{number(c['pairing_gain'])}×",
                "seed pairs": int(c["n_pairs"]),
            }
        )
    return pd.DataFrame(rows)


def _settings(values: dict) -> str:
    return ", ".join(
        f"{figures.lever_label(lv).split(' (')[0]} {figures.format_value(v)}"
        for lv, v in values.items()
    )


def effect_sentence(
    effect: dict, metrics: list[str], robustness: pd.DataFrame | None = None
) -> str:
    """'Raising X from a to b (Y at c; 20 seed pairs): breakthrough rate -6.2 [CI] ...', each
    metric with its robustness across the plausible space where `robustness` has it."""
    lever = effect["lever"]
    name = figures.lever_label(lever).split(" (")[0]
    if isinstance(effect["low"], bool | np.bool_):
        start = f"**Switching on the {name}**"
    elif isinstance(effect["low"], str):
        start = f"**{name.capitalize()} {effect['high']} instead of {effect['low']}**"
    else:
        low, high = (figures.format_value(effect[k]) for k in ("low", "high"))
        start = f"**Raising {name} from {low} to {high}**"
    first = effect["contrasts"][metrics[0]]
    context = [_settings(effect["context"])] if effect["context"] else []
    context.append(f"{first.n_pairs} seed pairs")
    parts = []
    for metric in metrics:
        c = effect["contrasts"][metric]
        text = f"{figures.metric_short(metric)} {signed(c.difference)} (95% CI "
        text += f"{number(c.ci_low)} to {number(c.ci_high)}"
        if np.isfinite(c.pairing_gain) and c.ci_high > c.ci_low:
            text += f"; pairing narrows it {number(c.pairing_gain)}×"
        rows = [] if robustness is None else robustness[
            (robustness["lever"] == lever) & (robustness["outcome"] == metric)
        ].to_dict("records")  # fmt: skip
        text += "".join(f"; {robustness_phrase(row)}" for row in rows)
        parts.append(text + ")")
    sentence = f"{start} ({'; '.join(context)}): " + "; ".join(parts) + "."
    if effect["identical_at"]:
        sentence += f" With {_settings(effect['identical_at'][0])} it changes nothing."
    return sentence


# --- robustness across the plausible space ------------------------------------------------------


def robustness_table() -> pd.DataFrame:
    """The committed uncertainty analyses' rows by lever and outcome, each with the `space` its
    points stand for (empty where an analysis is absent)."""
    tables = []
    for analysis in UNCERTAINTY:
        try:
            tables.append(pd.read_csv(PROJECT_ROOT / analysis.table).assign(space=analysis.name))
        except (OSError, ValueError):
            continue
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["lever", "outcome", "space"]
    )  # fmt: skip


def uncertainty_contrasts(analysis: Uncertainty) -> dict[str, tuple[float, float]]:
    """Each lever an uncertainty analysis contrasted: (low, high)."""
    try:
        spec = OmegaConf.load(PROJECT_ROOT / analysis.design)
        return {c.key: (float(c.low), float(c.high)) for c in spec.contrasts}
    except (OSError, ValueError, AttributeError):
        return {}


def robustness_phrase(row) -> str:
    """'lower at 49% of the plausible space, 95% CI 44% to 53%', or over the accepted ensemble
    its median and 5-95% range: the effect with the calibration's parameter uncertainty."""
    direction = "lower" if row["sign"] == "negative" else "higher"
    share, low, high = (
        f"{100 * row[k]:.0f}%" for k in ("share_with_sign", "share_low", "share_high")
    )
    if row.get("space", UNCERTAINTY[0].name) == UNCERTAINTY[0].name:
        return f"{direction} at {share} of the plausible space, 95% CI {low} to {high}"
    return (
        f"over the accepted parameter sets {signed(row['median'])} (5-95% {number(row['q05'])} "
        f"to {number(row['q95'])}), {direction} at {share} of them"
    )


def robustness_note(levers: list[str], table: pd.DataFrame) -> str:
    """Where each effect's robustness comes from, and which levers no analysis covers."""
    parts = []
    for analysis in UNCERTAINTY:
        rows = table[table["space"] == analysis.name]
        covered = [lever for lever in levers if lever in set(rows["lever"])]
        if not covered:
            continue
        ranges = uncertainty_contrasts(analysis)
        moves = [
            figures.lever_label(lever).split(" (")[0]
            + (" {:g} to {:g}".format(*ranges[lever]) if lever in ranges else "")
            for lever in covered
        ]
        first = rows[rows["lever"] == covered[0]].iloc[0]
        parts.append(
            f"Where {'an' if not parts else 'another'} uncertainty analysis measured a lever "
            f"({', '.join(moves)}; at {int(first['points'])} {analysis.points}, "
            f"{int(first['seeds'])} seeds each; `{analysis.report}`), an effect says "
            + (
                "at what share of those points it is lower or higher, with that share's 95% CI."
                if analysis is UNCERTAINTY[0]
                else "its median and 5-95% range over those sets beside the seed-only CI, and "
                "at what share of them it is lower or higher."
            )
        )
    uncovered = [
        figures.lever_label(lv).split(" (")[0] for lv in levers if lv not in set(table["lever"])
    ]
    if uncovered:
        parts.append(
            f"No uncertainty analysis covers the {listed(uncovered).replace(' and ', ' or ')}: "
            f"{'its' if len(uncovered) == 1 else 'their'} effects below are measured at this "
            "sweep's settings only, not across the plausible ranges of the model's assumptions."
        )
    return " ".join(parts)


# --- the document ------------------------------------------------------------------------------


def _lever_bullet(data: SweepData, lever: str) -> str:
    """'`lever` (label): v1, v2' or, for a preset, each name with the values it sets."""
    reps = data.replicates
    values = sorted(reps[lever].unique())
    parts = data.implied.get(lever, [])
    if not parts:
        listed = ", ".join(figures.format_value(v) for v in values)
    else:
        first_rows = reps.drop_duplicates(lever).set_index(lever)
        listed = "; ".join(
            f"{value} ("
            + ", ".join(f"`{p}` = {figures.format_value(first_rows.loc[value, p])}" for p in parts)
            + ")"
            for value in values
        )
    return f"`{lever}` ({figures.lever_label(lever)}): {listed}"


def _scale_text(data: SweepData) -> str:
    """' (each: 2,000 researchers over 20 years from 2015)', from the fixed values."""
    fixed = data.fixed
    size, years, start = (
        fixed.get(k) for k in ("population.n_researchers", "run.years", "run.start_year")
    )
    if size is None or years is None:
        return ""
    since = f" from {start:g}" if start is not None else ""
    return f" (each: {int(size):,} researchers over {years:g} years{since})"


def _seeds_in_order(data: SweepData) -> list:
    """The seeds in replicate order (as the provenance lists them), else sorted."""
    listed = data.provenance.get("seeds")
    present = set(data.replicates["seed"].unique())
    if listed and set(listed) == present:
        return list(listed)
    return sorted(present)


def _few_seeds_text(data: SweepData) -> str:
    """A warning when an arm has fewer than FEW_SEEDS replicates, else nothing."""
    seeds = data.replicates.groupby(data.levers)["seed"] if data.levers else data.replicates["seed"]
    fewest = int(np.min(seeds.nunique()))
    if fewest >= FEW_SEEDS:
        return ""
    return (
        f" **With {fewest} seeds per arm (fewer than {FEW_SEEDS}) the bootstrap intervals are "
        "unreliable**: too narrow and unsteady from seed to seed, so read differences as rough; "
        "rerun with more replicates (`run.replicates=20`) before relying on them."
    )


def _seeds_text(data: SweepData) -> str:
    replicates, levers = data.replicates, data.levers
    per_arm = {
        tuple(sorted(stats.select(replicates, levers, arm)["seed"]))
        for arm in stats.arms(replicates, levers)
    }
    seeds = _seeds_in_order(data)
    shown = ", ".join(str(s) for s in seeds[:3]) + (", ..." if len(seeds) > 3 else "")
    origin = data.fixed.get("run.seed")
    origin = f", derived from `run.seed` = {origin}" if origin is not None else ""
    if len(per_arm) == 1:
        return f"every arm runs the same {len(seeds)} seeds ({shown}{origin}), so arms pair by seed"
    return (
        f"arms do not all share their seeds ({len(seeds)} distinct: {shown}); contrasts pair "
        "only the seeds two arms have in common"
    )


def _lookup(record: dict, *paths: str):
    """The first value found at any of the dotted `paths` in a nested dict."""
    for path in paths:
        value = record
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value not in (None, {}, ""):
            return value
    return None


def _job_overrides(data: SweepData) -> str:
    """'job: override override ...' per job, read from each job's provenance.json."""
    lines = []
    for job in sorted(data.replicates["job"].unique(), key=str):
        record = _read_json(data.directory / str(job) / "provenance.json")
        overrides = (record or {}).get("overrides")
        if overrides is not None:
            lines.append(f"{job}: {' '.join(overrides)}")
    return "\n".join(lines)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _provenance_bullets(data: SweepData) -> list[str]:
    p = data.provenance
    commit = _lookup(p, "git.commit", "environment.git.commit", "git_commit", "commit")
    dirty = _lookup(p, "git.dirty", "environment.git.dirty")
    text = f"Code version (git commit): `{commit or 'unknown'}`"
    if dirty:
        text += " with uncommitted changes in the working tree"
    items = [text]
    versions = _lookup(p, "versions", "packages", "environment.packages") or {}
    python = _lookup(p, "python", "python_version", "environment.python") or versions.get("python")
    if python:
        items.append(f"Python {python}")
    packages = {k: v for k, v in versions.items() if k != "python" and v}
    if packages:
        items.append("Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(packages.items())))
    seeds = _seeds_in_order(data)
    items.append(f"Seeds in replicate order ({len(seeds)}): " + ", ".join(map(str, seeds)))
    items.append(
        f"Jobs aggregated: {data.replicates['job'].nunique()}; each job folder holds "
        "`replicates.csv`, `timeseries.csv` and `provenance.json` with its full configuration"
    )
    return items


def technocrat_section(doc: Document, table: pd.DataFrame, made: list[Figure]):
    """The decomposition of the technocrat share's effect by leadership channel."""
    low, high = table["share_low"].iloc[0], table["share_high"].iloc[0]
    doc.heading("Decomposition by leadership channel")
    doc.paragraph(
        f"The paired effect of raising the technocrat share from {low:g} to {high:g} (the "
        "same seeds at both shares), under each setting of the channels through which "
        "technocratic and political leaderships differ: approval (merit vs ties), favoritism "
        "in evaluations (guanxi damping) and funding concentration on priority fields. "
        "Difference [95% paired CI] over seeds; the interaction is, per seed, the all-on "
        "effect minus the sum of the single-channel effects (each net of the all-off one). "
        "`decomposition.csv` has every number."
    )
    doc.table(technocrat_channels.table(table))
    doc.bullets(technocrat_channels.findings(table))
    for figure in made:
        if figure.name == technocrat_channels.FIGURE:
            vector = f"[SVG](figures/{figure.name}.svg)"
            doc.image(f"figures/{figure.name}.png", figure.alt, f"{figure.caption} {vector}.")


def build_document(data: SweepData, analysis: dict, made: list[Figure], title, question, command):
    levers, reps, reference = data.levers, data.replicates, analysis["reference"]
    doc = Document(title)
    doc.paragraph(f"**Question.** {question}")
    scale = _scale_text(data)
    doc.paragraph(
        f"**Design.** {len(stats.arms(reps, levers))} arms, {len(reps)} replicates in all{scale}; "
        f"{_seeds_text(data)}. Means carry 95% bootstrap confidence intervals over "
        "replicates; differences between arms are paired on seeds (common random numbers), with "
        f"the unpaired interval beside them for comparison.{_few_seeds_text(data)} "
        f"Regenerate with `{command}`."
    )
    if analysis["effects"]:
        robustness = robustness_table()
        doc.heading("Main effects (paired on seeds)")
        levers_with_effects = list(dict.fromkeys(e["lever"] for e in analysis["effects"]))
        doc.paragraph(robustness_note(levers_with_effects, robustness))
        doc.bullets([effect_sentence(e, e["metrics"], robustness) for e in analysis["effects"]])

    doc.heading("Levers varied")
    doc.bullets(
        [_lever_bullet(data, lever) for lever in levers]
        or ["none: every job ran the same configuration"]
    )
    doc.heading("Held fixed")
    defaults = model_defaults()
    differing = [
        f"`{key}` = {value!r} (model default {defaults[key]!r})"
        for key, value in sorted(data.fixed.items())
        if key in defaults and defaults[key] != value
    ]
    doc.paragraph(
        "Every other parameter is the same in all arms: the model's default, except:"
        if differing
        else "Every other parameter is the same in all arms, at the model's default."
    )
    doc.bullets(differing)
    if data.fixed:
        fixed = "\n".join(f"{key}: {value!r}" for key, value in sorted(data.fixed.items()))
        doc.details("All values held fixed", fixed)

    doc.heading("Results by arm")
    doc.paragraph(
        "Mean [95% CI] over each arm's replicates; n is the number of replicates behind each "
        f"number. {units_note(analysis['table_metrics'])} `summary.csv` has every metric."
    )
    doc.table(results_table(analysis["summary"], levers, reference, analysis["table_metrics"]))

    periods = analysis["periods"]
    if not periods.empty:
        doc.heading("Breakthrough rate per period")
        doc.paragraph(
            f"{figures.metric_label(HEADLINE)} in each {PERIOD_YEARS}-year period of the run "
            "(burn-in excluded): mean [95% CI] over each arm's replicates of the mean quarterly "
            "rate within the period. A whole-run rate averages these, so a trend here means the "
            "whole-run figure depends on the run's length. `periods.csv` has every number."
        )
        doc.table(period_table(periods, levers))

    if analysis["decomposition"] is not None:
        technocrat_section(doc, analysis["decomposition"], made)

    doc.heading("Paired contrasts against the reference arm")
    for metric in analysis["contrast_metrics"]:
        doc.paragraph(
            f"{figures.metric_label(metric)}: each arm minus the reference "
            f"({figures.arm_label(levers, reference)}). 'Pairing narrows CI by' is the unpaired "
            "CI's width over the paired one's. `contrasts.csv` has every metric."
        )
        doc.table(contrast_rows(analysis["contrasts"], levers, metric))

    made = [figure for figure in made if figure.name != technocrat_channels.FIGURE]
    if made:
        doc.heading("Figures")
        for figure in made:
            vector = f"[SVG](figures/{figure.name}.svg)"
            doc.image(f"figures/{figure.name}.png", figure.alt, f"{figure.caption} {vector}.")

    doc.heading("Provenance")
    doc.bullets(_provenance_bullets(data))
    jobs = _job_overrides(data)
    if jobs:
        doc.details("Each job's Hydra overrides (its folder name first)", jobs)
    doc.heading("Missing or failed jobs")
    if data.missing:
        doc.paragraph(
            f"{len(data.missing)} job(s) missing or failed; the numbers above leave them out. "
            "Rerunning the sweep command finishes them and keeps finished jobs:"
        )
        doc.bullets([f"`{job}`" for job in data.missing])
    else:
        doc.paragraph("None: every job of the sweep completed.")
    return doc


def table_outcomes(data: SweepData) -> list[str]:
    """The outcomes the results table shows: those that speak to a lever the sweep varied (or to
    a parameter its presets set), else every declared outcome; never the shock's own outcomes
    when no arm has the shock."""
    varied = [*data.levers, *(p for parts in data.implied.values() for p in parts)]
    answering = list(dict.fromkeys(m for lever in varied for m in catalog().answering(lever)))
    shock = SHOCK_LEVER in data.levers or data.fixed.get(SHOCK_LEVER) is True
    return answering or [
        r.name
        for r in catalog().runs
        if r.answers and r.name != HEADLINE and (shock or set(r.answers) != {SHOCK_LEVER})
    ]


def sweep_command(directory: Path) -> str | None:
    """The command that ran the sweep, from the overrides Hydra recorded in its multirun.yaml."""
    try:
        overrides = list(OmegaConf.load(directory / "multirun.yaml").hydra.overrides.task)
    except (OSError, ValueError, AttributeError):
        return None
    words = ["python -m experiments.run -m", *map(shlex.quote, overrides)]
    return " ".join([*words, shlex.quote(f"hydra.sweep.dir={directory}")])


def title_for(levers: list[str]) -> str:
    """'Sweep over publication-count weight and oversight intensity', from the levers."""
    names = [figures.lever_label(lever).split(" (")[0] for lever in levers]
    return f"Sweep over {listed(names)}" if names else "One setting over seeds"


# --- building and writing ----------------------------------------------------------------------


def analyse(data: SweepData) -> dict:
    """Summary, contrasts and lever effects of the sweep's replicates."""
    levers, reps = data.levers, data.replicates
    metrics = [m for m in run_metrics() if m in reps.columns]
    if SHOCK_LEVER in levers and not data.timeseries.empty:
        metrics += add_after_shock_metrics(data, shock_start(data))
        reps = data.replicates
    reference = stats.default_reference(reps, levers, model_defaults())
    effects = []
    for effect in stats.lever_effects(reps, levers, reference, metrics):
        chosen = [HEADLINE, *lever_metrics(effect["lever"])]
        effect["metrics"] = [m for m in chosen if m in metrics]
        effects.append(effect)
    extra = [m for lv in levers for m in lever_metrics(lv) if m.startswith(AFTER_SHOCK)]
    rates_after = [m for m in extra if m.startswith(AFTER_SHOCK + figures.QUARTERLY)]
    # the table's other after-shock columns would repeat a whole-run outcome's step total
    table_metrics = [HEADLINE, *dict.fromkeys(rates_after), *table_outcomes(data)]
    contrast_metrics = [HEADLINE, *rates_after[:1]]
    technocrats = (
        decomposition.decompose(data, model_defaults()) if decomposition.applies(levers) else None
    )
    return {
        "metrics": metrics,
        "reference": reference,
        "periods": period_rates(data, levers),
        "decomposition": technocrats,
        "summary": stats.summarize(reps, levers, metrics),
        "contrasts": stats.contrasts(reps, levers, metrics, reference),
        "effects": effects,
        "table_metrics": [m for m in dict.fromkeys(table_metrics) if m in metrics],
        "contrast_metrics": [m for m in contrast_metrics if m in metrics],
    }


def build_report(data: SweepData, out_dir, title=None, question=None, command=None) -> Path:
    """Statistics, figures, report.md/.html, summary.csv and contrasts.csv into `out_dir`."""
    out_dir = Path(out_dir)
    analysis = analyse(data)
    made = make_figures(data, analysis, out_dir / "figures", shock_start(data))
    current = {f"{figure.name}.{ext}" for figure in made for ext in ("png", "svg")}
    for old in (out_dir / "figures").glob("*.*"):
        if old.suffix in (".png", ".svg") and old.name not in current:
            old.unlink()  # a figure an earlier report made and this one does not
    doc = build_document(
        data,
        analysis,
        made,
        title or f"Sweep report: {data.directory.name}",
        question or question_for(data.levers),
        command or default_command(data.directory),
    )
    io.write_text(out_dir / "summary.csv", analysis["summary"].to_csv(index=False))
    io.write_text(out_dir / "contrasts.csv", analysis["contrasts"].to_csv(index=False))
    io.write_text(out_dir / "periods.csv", analysis["periods"].to_csv(index=False))
    if analysis["decomposition"] is not None:
        io.write_text(out_dir / "decomposition.csv", analysis["decomposition"].to_csv(index=False))
    io.write_text(out_dir / "report.html", doc.html())
    io.write_text(out_dir / "report.md", doc.markdown())
    return out_dir / "report.md"


def default_command(directory: Path) -> str:
    """The sweep's own command (when Hydra recorded it), then the report's."""
    report_command = f"python -m experiments.report {shlex.quote(str(directory))}"
    sweep = sweep_command(directory)
    return f"{sweep} && {report_command}" if sweep else report_command


def question_for(levers: list[str]) -> str:
    """The named experiment's question (its config's `report.question`), or one written from
    the levers the sweep varied."""
    question = catalog_question(levers)
    if question is not None:
        return question
    names = [figures.lever_label(lever).split(" (")[0] for lever in levers]
    if not names:
        return "What breakthrough rate do these settings give, with what uncertainty over seeds?"
    outcomes = dict.fromkeys(
        figures.metric_short(m) for lever in levers for m in lever_metrics(lever)
    )
    verb = "does" if len(names) == 1 else "do"
    question = f"How {verb} the {listed(names)} change the breakthrough rate"
    if outcomes:
        question += f", and what {verb} {'it' if len(names) == 1 else 'they'} do to "
        question += listed(list(outcomes))
    return question + "?"


def listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.report",
        description="Aggregate a sweep folder; write report.md/.html, figures, summary.csv.",
    )
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="folder of a sweep (multirun)")
    parser.add_argument("--out", help="output folder (default: SWEEP_DIR/report)")
    parser.add_argument("--title", help="report title")
    parser.add_argument("--question", help="the question the sweep answers")
    parser.add_argument("--command", help="the command that regenerates it, for the record")
    parser.add_argument(
        "--allow-mixed-code",
        action="store_true",
        help="report on jobs run by different versions of the model code",
    )
    args = parser.parse_args(argv)
    try:
        data = load_sweep(args.sweep_dir, args.allow_mixed_code)
        out = Path(args.out) if args.out else Path(args.sweep_dir) / "report"
        path = build_report(data, out, args.title, args.question, args.command)
    except (ReportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"report written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
