"""Calibration targets: published magnitudes, the model situations that mirror them, and the
statistics that measure the model there.

The targets are data (`configs/calibration/targets.yaml`): each names a study, the figure as
published, a statistic of this module (`STATISTICS`) with its arguments, the value and tolerance
the model should meet, and whether the target is fitted or held out. A statistic compares the
model in named situations (`situations:` of the same file: lever overrides and preset files of
`configs/`) on the same seed, so most statistics are paired ratios or differences and do not
depend on the model's absolute scale.

The model is read only through its public surface: a model for (params, seed, status_quo),
branched from a shared spin-up (experiments/engine/spinup.py), `step()`, `running`,
`year_end`, `run_metrics()`, `p` and the researcher arrays. `observe` steps a model and keeps a
copy of the researcher arrays after every step, so a statistic can look at who had what at any
date (for example who had a foreign collaborator when export controls began), and the run's
paper cohort (sim/papers.py: each paper of the first recorded years with its kind, date and
impact over time), so a statistic can be computed on papers as the studies compute it. Each
statistic is a small named function, so that it can follow a change of the model.

`experiments/calibrate.py` fits parameters to the targets marked `use: fit`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import sim.model
from sim.kernels import signals_held
from sim.papers import KINDS as PAPER_KINDS
from sim.papers import PaperCohort
from sim.params import ParameterError, check_value, field_of, with_overrides

from ...engine.spinup import model_for

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
USES = ("fit", "held_out")
# interval: |model - value| <= tolerance; above / below: model > value / model < value (a
# direction only; the tolerance then scales the distance of a miss).
KINDS = ("interval", "above", "below")
# Arguments of a statistic that name a situation.
SITUATION_ARGS = ("situation", "high", "low", "shock", "control")
# Researcher arrays kept after every step (and at the end, with score and ties).
SNAPSHOT = ("person_id", "impact", "papers", "foreign", "exploratory_share", "field")
FINAL = (*SNAPSHOT, "score", "ties", "funding", "research_time")


def params_type() -> type:
    return sim.model.parameters()


# --- observing the model ------------------------------------------------------------------


@dataclass
class Observation:
    """One run of one situation on one seed: its run metrics, researcher arrays at the end and
    after every step (keyed by the year at the step's end; the first is the start), and its
    paper cohort."""

    params: Any
    metrics: dict
    final: dict[str, np.ndarray]
    years: np.ndarray
    snapshots: list[dict[str, np.ndarray]]
    papers: PaperCohort | None = None  # the run's paper cohort (sim/papers.py)

    def at(self, year: float) -> dict[str, np.ndarray]:
        """The researcher arrays at `year` (the last step ending on or before it)."""
        i = int(np.searchsorted(self.years, year + 1e-9, side="right")) - 1
        return self.snapshots[max(i, 0)]


def _arrays(model, names) -> dict[str, np.ndarray]:
    return {name: np.array(getattr(model.researchers, name)) for name in names}


def observe(params, seed: int, status_quo=None) -> Observation:
    """Run the model on `seed`, keeping the researcher arrays after every step; the burn-in
    runs the policy levers of `status_quo` (default: the model's defaults)."""
    with signals_held():  # Ctrl-C inside a compiled kernel would crash the process
        model = model_for(params, seed, status_quo)
        years, snapshots = [model.year_end], [_arrays(model, SNAPSHOT)]
        while model.running:
            model.step()
            years.append(model.year_end)
            snapshots.append(_arrays(model, SNAPSHOT))
    return Observation(
        params,
        model.run_metrics(),
        _arrays(model, FINAL),
        np.array(years),
        snapshots,
        model.mechanism("production").cohort,
    )


# --- statistics (one value per seed) ------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else math.nan


def _top(values: np.ndarray, share: float) -> np.ndarray:
    """Who is in the top `share` of `values` (at least one researcher)."""
    k = max(1, int(round(share * values.size)))
    return values >= np.partition(values, values.size - k)[values.size - k]


def paired_ratio(obs, metric: str, high: str, low: str) -> float:
    """A run metric in situation `high` over the same metric in `low`, same seed."""
    return _ratio(obs[high].metrics[metric], obs[low].metrics[metric])


def paired_difference(obs, metric: str, high: str, low: str) -> float:
    """A run metric in situation `high` minus the same metric in `low`, same seed."""
    return float(obs[high].metrics[metric] - obs[low].metrics[metric])


def run_metric(obs, metric: str, situation: str) -> float:
    """A run metric in one situation (an absolute level, so it pins the model's scale)."""
    return float(obs[situation].metrics[metric])


def breakthrough_share(obs, situation: str) -> float:
    """Breakthroughs per paper: the share of all papers that are breakthroughs."""
    m = obs[situation].metrics
    return _ratio(m["breakthrough_rate"] / 1000.0, m["papers_per_researcher_year"])


def final_foreign_share(obs, situation: str) -> float:
    """Share of researchers with a foreign collaborator at the end of the run."""
    return float(np.mean(obs[situation].final["foreign"]))


def election_ratio(obs, situation: str, elected: float = 0.05, connected: float = 0.2) -> float:
    """Chance of being 'elected' (a top-`elected` score at the last evaluation) with a strong tie
    to the leadership (top-`connected` ties) over the chance without one."""
    r = obs[situation].final
    chosen, tied = _top(r["score"], elected), _top(r["ties"], connected)
    return _ratio(chosen[tied].mean(), chosen[~tied].mean())


def elected_high_impact_ratio(
    obs, situation: str, elected: float = 0.05, connected: float = 0.2, high_impact: float = 0.1
) -> float:
    """Among the 'elected', the share with a top-`high_impact` lifetime impact, connected over
    unconnected."""
    r = obs[situation].final
    chosen, tied = _top(r["score"], elected), _top(r["ties"], connected)
    high = _top(r["impact"], high_impact)
    if not (chosen & tied).any() or not (chosen & ~tied).any():
        return math.nan
    return _ratio(high[chosen & tied].mean(), high[chosen & ~tied].mean())


def novelty_window_ratio(
    obs,
    situation: str,
    window_years: float,
    after_years: float = 2.0,
    novel: float = 0.25,
    top_share: float = 0.05,
) -> float:
    """How much more often the most exploratory researchers (top `novel` exploratory share,
    `after_years` into the run) are among the top `top_share` by impact recognized over the next
    `window_years`, against the least exploratory (bottom `novel`). Researchers who left during
    the window are left out."""
    o = obs[situation]
    start = o.params.run.start_year + after_years
    before, after = o.at(start), o.at(start + window_years)
    stay = before["person_id"] == after["person_id"]
    gain = (after["impact"] - before["impact"])[stay]
    share = before["exploratory_share"][stay]
    explorers = share >= np.quantile(share, 1.0 - novel)
    conventional = share <= np.quantile(share, novel)
    top = _top(gain, top_share)
    if not explorers.any() or not conventional.any():
        return math.nan
    return _ratio(top[explorers].mean(), top[conventional].mean())


def foreign_collaborator_gradient(obs, shock: str, control: str, window_years: float = 3.0):
    """Loss of recognized impact over `window_years` after the export-control shock, against the
    same seed without it, of researchers with a foreign collaborator at the shock minus that of
    researchers without one (negative: those with one lose more)."""
    s, c = obs[shock], obs[control]
    start = s.params.export_controls.start_year
    before, hit, spared = s.at(start), s.at(start + window_years), c.at(start + window_years)
    stay = (before["person_id"] == hit["person_id"]) & (before["person_id"] == spared["person_id"])
    gain_hit, gain_spared = hit["impact"] - before["impact"], spared["impact"] - before["impact"]

    def loss(group):
        return _ratio(gain_hit[group].sum(), gain_spared[group].sum()) - 1.0

    foreign = before["foreign"].astype(bool)
    return loss(stay & foreign) - loss(stay & ~foreign)


def connected_funding_ratio(obs, situation: str, connected: float = 0.2) -> float:
    """Mean funding (set at the last evaluation) of researchers with a strong tie to their
    leadership (top-`connected` ties, as in election_ratio) over the mean of the others."""
    r = obs[situation].final
    tied = _top(r["ties"], connected)
    return _ratio(r["funding"][tied].mean(), r["funding"][~tied].mean())


def research_time_below_share(obs, situation: str, below: float) -> float:
    """Share of researchers whose research time is below `below` of their working time, at the
    end of the run."""
    return float(np.mean(obs[situation].final["research_time"] < below))


def exposed_papers_ratio(obs, shock: str, control: str, window_years: float = 3.0) -> float:
    """Papers per researcher over `window_years` after the export-control shock, against the
    same seed without it, of researchers in exposed fields (export exposure at or above the
    fields' `exposed_threshold`) in post at the shock and still in post at the window's end."""
    s, c = obs[shock], obs[control]
    start = s.params.export_controls.start_year
    before, hit, spared = s.at(start), s.at(start + window_years), c.at(start + window_years)
    stay = (before["person_id"] == hit["person_id"]) & (before["person_id"] == spared["person_id"])
    fields = s.params.fields
    exposed_field = np.asarray(fields.export_exposure) >= fields.exposed_threshold
    group = stay & exposed_field[before["field"]]
    return _ratio(
        (hit["papers"] - before["papers"])[group].sum(),
        (spared["papers"] - before["papers"])[group].sum(),
    )


def paper_hit_ratio(obs, situation: str, window_years: float) -> float:
    """Wang, Veugelers & Stephan's paper-cohort statistic: among the papers of the cohort (made
    in the run's first `papers.cohort_years`), the share of exploratory papers in the cohort's
    top 1% by impact within `window_years` of publication over the share of routine papers
    (sim/papers.py). Infinite when no routine paper is top; NaN when the run is shorter than
    the cohort plus the window."""
    return obs[situation].papers.hit_ratio(window_years)


def paper_top_share(obs, situation: str, kind: str, window_years: float) -> float:
    """The share of the cohort's `kind` papers ('routine' or 'exploratory') in its top 1% by
    impact within `window_years` (sim/papers.py): the two parts of `paper_hit_ratio`, finite
    where the ratio is not, so that seeds can be pooled before the ratio is taken."""
    if kind not in PAPER_KINDS:
        allowed = ", ".join(PAPER_KINDS)
        raise ParameterError(f"paper_top_share: kind = {kind!r}; allowed: {allowed}")
    return obs[situation].papers.top_shares(window_years)[PAPER_KINDS.index(kind)]


STATISTICS: dict[str, Callable[..., float]] = {
    f.__name__: f
    for f in (
        paired_ratio,
        paired_difference,
        run_metric,
        breakthrough_share,
        final_foreign_share,
        election_ratio,
        elected_high_impact_ratio,
        novelty_window_ratio,
        foreign_collaborator_gradient,
        connected_funding_ratio,
        research_time_below_share,
        exposed_papers_ratio,
        paper_hit_ratio,
        paper_top_share,
    )
}


# --- targets and situations ---------------------------------------------------------------


@dataclass
class Target:
    """One published magnitude and the model statistic that should reproduce it."""

    id: str
    study: str
    published: str
    checked: str
    statistic: str
    value: float
    tolerance: float
    use: str
    kind: str = "interval"
    args: dict = field(default_factory=dict)
    analogue: str = ""

    @property
    def situations(self) -> list[str]:
        return [self.args[k] for k in SITUATION_ARGS if k in self.args]

    def compute(self, obs: dict[str, Observation]) -> float:
        return float(STATISTICS[self.statistic](obs, **self.args))

    def miss(self, model_value: float) -> float:
        """How far the model misses, in tolerances (0 when met; signed for an interval)."""
        if not math.isfinite(model_value):
            return math.inf
        if self.kind == "interval":
            return (model_value - self.value) / self.tolerance
        if self.kind == "above":
            return max(0.0, self.value - model_value) / self.tolerance
        return max(0.0, model_value - self.value) / self.tolerance

    def met(self, model_value: float) -> bool:
        if not math.isfinite(model_value):
            return False
        if self.kind == "interval":
            return abs(model_value - self.value) <= self.tolerance
        return model_value > self.value if self.kind == "above" else model_value < self.value


@dataclass
class TargetSet:
    situations: dict[str, dict]
    targets: list[Target]
    data: dict = field(default_factory=dict, repr=False)  # as read, for Hydra jobs to recheck

    def fitting(self) -> list[Target]:
        return [t for t in self.targets if t.use == "fit"]

    def held_out(self) -> list[Target]:
        return [t for t in self.targets if t.use == "held_out"]


def _number(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParameterError(f"{where} = {value!r} must be a finite number")
    return float(value)


def preset_overrides(preset: str) -> dict:
    """The dotted overrides of a preset file of configs/, named `GROUP/NAME`."""
    group, _, name = preset.partition("/")
    path = CONFIGS / group / f"{name}.yaml"
    if not name or not path.is_file():
        raise ParameterError(f"preset '{preset}' is not a file configs/GROUP/NAME.yaml")
    values = yaml.safe_load(path.read_text()) or {}
    return {f"{group}.{key}": value for key, value in values.items()}


def situation_overrides(name: str, spec: dict) -> dict:
    """A situation's dotted overrides: its presets' values, then its own."""
    spec = dict(spec or {})
    out = {}
    for preset in spec.pop("presets", []):
        out.update(preset_overrides(preset))
    out.update(spec)
    for key, value in out.items():
        try:
            _, _, f = field_of(key, params_type())
        except ParameterError as err:
            raise ParameterError(f"situations.{name}: {err}") from None
        out[key] = check_value(f"situations.{name}.{key}", f, value)
    return out


def check_targets(data: dict) -> TargetSet:
    """Targets and situations from the plain data of a targets file, checked before any run:
    a bad entry raises ParameterError naming the key, the value and what is allowed."""
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise ParameterError("a targets file needs 'situations:' and a list 'targets:'")
    situations = {
        name: situation_overrides(name, spec)
        for name, spec in (data.get("situations") or {}).items()
    }
    targets, seen = [], set()
    for i, row in enumerate(data["targets"]):
        where = f"targets[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise ParameterError(f"{where} needs an 'id' (text)")
        where = f"targets.{row['id']}"
        if row["id"] in seen:
            raise ParameterError(f"{where}: the id is used twice")
        seen.add(row["id"])
        known = set(Target.__dataclass_fields__)
        for key in row:
            if key not in known:
                raise ParameterError(
                    f"{where}.{key} is not a target field; allowed: {', '.join(sorted(known))}"
                )
        if row.get("statistic") not in STATISTICS:
            raise ParameterError(
                f"{where}.statistic = {row.get('statistic')!r} is unknown; allowed: "
                + ", ".join(STATISTICS)
            )
        if row.get("use") not in USES:
            raise ParameterError(f"{where}.use = {row.get('use')!r}; allowed: {', '.join(USES)}")
        kind = row.get("kind", "interval")
        if kind not in KINDS:
            raise ParameterError(f"{where}.kind = {kind!r}; allowed: {', '.join(KINDS)}")
        value = _number(f"{where}.value", row.get("value"))
        tolerance = _number(f"{where}.tolerance", row.get("tolerance"))
        if tolerance <= 0:
            raise ParameterError(f"{where}.tolerance = {row['tolerance']!r} must be > 0")
        target = Target(**{**row, "value": value, "tolerance": tolerance, "kind": kind})
        for key in SITUATION_ARGS:
            if key in target.args and target.args[key] not in situations:
                raise ParameterError(
                    f"{where}.args.{key} = {target.args[key]!r} is not a situation; allowed: "
                    + ", ".join(situations)
                )
        targets.append(target)
    if not any(t.use == "fit" for t in targets):
        raise ParameterError("targets: none has use: fit")
    return TargetSet(situations, targets, data)


def load_targets(path: Path) -> TargetSet:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ParameterError(f"targets = {str(path)!r} cannot be read: {err.strerror}") from None
    return check_targets(data)


def definition_digest(data: dict, target_id: str) -> str:
    """SHA-256 of what a target tests: its entry in a targets file (all but `checked`, where
    the figure was read) and the situations its arguments name, as canonical JSON."""
    row = next(t for t in data["targets"] if t["id"] == target_id)
    entry = {k: v for k, v in row.items() if k != "checked"}
    names = [row.get("args", {}).get(key) for key in SITUATION_ARGS]
    situations = {n: (data.get("situations") or {}).get(n) for n in names if n is not None}
    text = json.dumps({"target": entry, "situations": situations}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- one seed of one parameter point ------------------------------------------------------


def evaluate(base, target_set: TargetSet, targets: list[Target], seed: int) -> dict[str, float]:
    """Each target's statistic on one seed, the situations run on `base` parameters.

    `base` is also the status quo of the burn-in: a calibrated policy lever (the guanxi weight)
    shapes the history each situation starts from, as its default would."""
    needed = dict.fromkeys(name for t in targets for name in t.situations)
    obs = {
        name: observe(with_overrides(base, **target_set.situations[name]), seed, status_quo=base)
        for name in needed
    }
    return {t.id: t.compute(obs) for t in targets}
