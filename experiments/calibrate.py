"""Calibrate the structural parameters to published targets: Latin hypercube, then ABC rejection.

    python -m experiments.calibrate [calibration=NAME] [KEY=VALUE ...] [--out DIR] [--fresh]
                                    [--wait]

NAME is a file of `configs/calibration/` (default `default`; `quick` is a short version), typed
by `CalibrationConfig`; KEY=VALUE overrides one of its keys (`samples=40`,
`base.population.n_researchers=1000`, `parameters.guanxi.weight=[0,2]`). Everything is checked
before anything runs: a bad key, value, target or parameter stops the command with one line
naming it and exit status 2.

Method (docs/calibration.md):
1. a Latin hypercube (SALib, as the uncertainty designs of experiments/design.py) of `samples`
   points over the ranges of the calibrated `parameters` (their plausible ranges unless given);
2. at every point, each fitting target's statistic (experiments/calibration.py) on the same
   `replicates` seeds, the situations of a target paired on each seed, averaged over seeds;
3. ABC rejection (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002): the accepted points
   are those where every fitting target is met within its tolerance; when fewer than
   `accept_fraction` of the points are, the closest `accept_fraction` by the distance
   sqrt(mean over targets of (miss / tolerance)^2) are accepted instead (and the output says so);
4. with `refine_samples` > 0, a second hypercube of that many points inside the box the accepted
   points span (a second generation, as in sequential ABC, Toni et al. 2009, with uniform
   proposals and no importance weights), evaluated on the same seeds; step 3 then accepts among
   the points of both stages. Accepted ranges are therefore where the targets are met, not a
   posterior;
5. the fitted point is the accepted point closest to all targets. With `confirm_points` > 0, the
   chosen point is instead the closest on `confirm_replicates` further seeds among that many
   accepted points nearest on the search seeds: choosing by the same noisy means that accepted a
   point favours points that met the targets by chance (the winner's curse);
6. every target (fitted and held out) is then measured at the fitted point, and at the current
   defaults, on `validation_replicates` fresh seeds, with 95% bootstrap CIs over seeds.

Outputs in DIR (default outputs/calibration/NAME, or NAME-HASH where HASH names the overrides that
change the numbers, so that configs never share a folder), each written atomically: `points.csv`
(every point and seed), `accepted.csv`, `confirmation.csv` (every candidate and further seed),
`parameters.csv` (range searched, fitted value, accepted range and quantiles), `validation.csv`
(every seed of the final measurements), `table.csv` and `table.md` (target, model value with 95%
CI, tolerance, met, fit or held out), `fitted.yaml` (the fitted values as a Hydra config) and
`fitted_overrides.txt` (the same as command-line overrides), then `provenance.json` (config and its
hash, targets, seeds, versions, git commit, timing). A rerun with the same config, targets and
model code returns at once; an interrupted run resumes from the finished (point, seed) pairs saved
under DIR/.partial. A folder belongs to one config and code: another is refused (exit 2) unless
`--fresh`, which starts over, replacing what the folder held. Work runs in `workers` processes; the
numbers do not depend on how many.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.params import ParameterError, check_value, field_of, with_overrides

from . import calibration, io, lock, preflight, stats
from .design_job import PointCheckpoint
from .errors import BadInput
from .job import run_command
from .replicates import WorkerLost, failure_text, replicate_seed, run_parallel, sigterm_as_exit
from .schema import flatten

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs" / "calibration"
PROVENANCE = "provenance.json"
FITTED, DEFAULTS = -1, -2  # point numbers of the final measurements
ARMS = {FITTED: "fitted", DEFAULTS: "defaults"}
EXECUTION_KEYS = ("workers", "jobs", "checkpoint_seconds")  # change how, not what, is computed


@dataclass
class CalibrationConfig:
    """A calibration: which targets, which parameters over which ranges, and the budget."""

    targets: str = "configs/calibration/targets.yaml"  # relative to the project
    fit_also: list = field(default_factory=list)  # held-out target ids this calibration fits
    parameters: dict = field(default_factory=dict)  # dotted name -> [low, high] or null (plausible)
    samples: int = 200  # Latin-hypercube points
    refine_samples: int = 0  # second-stage points inside the first stage's accepted box (0: none)
    design_seed: int = 0  # the hypercube's seed
    replicates: int = 6  # paired seeds per point
    seed: int = 0  # root of the points' seeds (experiments.replicates.replicate_seed)
    accept_fraction: float = 0.05  # at least this share of the points is accepted
    confirm_points: int = 0  # accepted points re-run on further seeds to choose the fitted one
    confirm_replicates: int = 10  # those further seeds
    confirm_seed: int = 2  # root of their seeds
    validation_replicates: int = 20  # fresh seeds for the final measurements
    validation_seed: int = 1  # root of their seeds
    base: dict = field(default_factory=dict)  # model overrides applied everywhere
    workers: int = 2  # processes per job
    jobs: int = 0  # 0: run here; N: N Hydra jobs on the launcher given by hydra/... overrides
    checkpoint_seconds: float = 30.0


# --- reading and checking a config ----------------------------------------------------------


def read_config(name: str, overrides: list[str]) -> dict:
    """The plain data of `configs/calibration/NAME.yaml` with KEY=VALUE overrides applied."""
    path = CONFIG_DIR / f"{name}.yaml"
    if name in ("targets",) or not path.is_file():
        names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem != "targets")
        raise ParameterError(f"calibration = {name!r} is not a config; allowed: {', '.join(names)}")
    data = yaml.safe_load(path.read_text()) or {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"override {item!r} is not KEY=VALUE")
        value = yaml.safe_load(text) if text else None
        head, _, rest = key.partition(".")
        if head in ("parameters", "base") and rest:
            data[head] = {**flatten(data.get(head) or {}), rest: value}
        elif rest:
            raise ParameterError(f"unknown key '{key}'; only parameters.NAME and base.NAME nest")
        else:
            data[head] = value
    return data


def _whole(key: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"{key} = {value!r} must be a whole number >= {low}")
    return value


def check_config(data: dict) -> tuple[CalibrationConfig, calibration.TargetSet, dict, object]:
    """(config, targets, parameter ranges, base parameters), all checked."""
    known = [f.name for f in dataclasses.fields(CalibrationConfig)]
    for key in data:
        if key not in known:
            raise ParameterError(f"unknown key '{key}'; allowed: {', '.join(known)}")
    cfg = CalibrationConfig(**data)
    for key, low in (
        ("samples", 2),
        ("refine_samples", 0),
        ("replicates", 1),
        ("validation_replicates", 2),
        ("workers", 1),
        ("jobs", 0),
        ("design_seed", 0),
        ("seed", 0),
        ("validation_seed", 0),
        ("confirm_points", 0),
        ("confirm_replicates", 1),
        ("confirm_seed", 0),
    ):
        _whole(key, getattr(cfg, key), low)
    roots = {
        "seed": cfg.seed,
        "confirm_seed": cfg.confirm_seed,
        "validation_seed": cfg.validation_seed,
    }
    for key, root in roots.items():
        if list(roots.values()).count(root) > 1:
            raise ParameterError(
                f"{key} = {root} must differ from the other seed roots ({', '.join(roots)})"
            )
    fraction = cfg.accept_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise ParameterError(f"accept_fraction = {fraction!r} must be in (0, 1]")
    seconds = cfg.checkpoint_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ParameterError(f"checkpoint_seconds = {seconds!r} must be a number >= 0")
    if not isinstance(cfg.targets, str):
        raise ParameterError(f"targets = {cfg.targets!r} must be the path of a targets file")
    if not isinstance(cfg.base, dict | None):
        raise ParameterError(f"base = {cfg.base!r} must map parameter names to values")
    cfg.base, cfg.parameters = flatten(cfg.base), _flat_ranges(cfg.parameters)
    try:
        base = with_overrides(calibration.params_type()(), **cfg.base)
    except ParameterError as err:
        raise ParameterError(f"base: {err}") from None
    path = Path(cfg.targets)
    target_set = calibration.load_targets(path if path.is_absolute() else PROJECT_ROOT / path)
    fit_also = cfg.fit_also or []
    if not isinstance(fit_also, list):
        raise ParameterError(f"fit_also = {fit_also!r} must be a list of target ids")
    held_out = [t.id for t in target_set.held_out()]
    unknown = [target_id for target_id in fit_also if target_id not in held_out]
    if unknown:
        raise ParameterError(
            f"fit_also: {unknown[0]!r} is not a held-out target; allowed: {', '.join(held_out)}"
        )
    for target in target_set.targets:
        if target.id in fit_also:
            target.use = "fit"
    ranges = parameter_ranges(cfg.parameters, target_set)
    return cfg, target_set, ranges, base


def _flat_ranges(parameters) -> dict:
    if not isinstance(parameters, dict) or not parameters:
        raise ParameterError(f"parameters = {parameters!r} must name at least one parameter")
    return flatten(parameters)  # [low, high] lists and nulls are the leaves


def parameter_ranges(parameters: dict, target_set: calibration.TargetSet) -> dict:
    """Each calibrated parameter's range: given, or its plausible range; inside its allowed one."""
    situation_keys = {k for s in target_set.situations.values() for k in s}
    ranges = {}
    for name, given in parameters.items():
        try:
            group, short, f = field_of(name, calibration.params_type())
        except ParameterError as err:
            raise ParameterError(f"parameters: {err}") from None
        key = f"{group}.{short}"
        if f.type not in ("float", "int", float, int):
            raise ParameterError(f"parameters.{key} is not a number; only numbers are calibrated")
        if key in situation_keys:
            raise ParameterError(f"parameters.{key} is set by a target's situation; not calibrated")
        bounds = given if given is not None else f.metadata.get("plausible")
        if bounds is None:
            raise ParameterError(
                f"parameters.{key} = null, and it has no plausible range; give [low, high]"
            )
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ParameterError(f"parameters.{key} = {bounds!r} must be [low, high]")
        low, high = (check_value(f"parameters.{key}", f, b) for b in bounds)
        if not low < high:
            raise ParameterError(f"parameters.{key} = {list(bounds)} must have low < high")
        ranges[key] = (float(low), float(high))
    return ranges


def config_hash(cfg: CalibrationConfig, target_set: calibration.TargetSet, ranges: dict) -> str:
    """SHA-256 of what determines the numbers: the config (without execution settings), the
    targets and ranges as checked, and the model's code."""
    what = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in EXECUTION_KEYS}
    what |= {
        "ranges": ranges,
        "targets": [dataclasses.asdict(t) for t in target_set.targets],
        "situations": target_set.situations,
        "code_version": io.code_version(),
    }
    text = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --- the design and its evaluation ----------------------------------------------------------


def design(ranges: dict, samples: int, seed: int, first: int = 0) -> pd.DataFrame:
    """`samples` Latin-hypercube points over `ranges`, numbered from `first`, one row each,
    integers rounded for integer parameters."""
    from SALib.sample import latin

    problem = {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [list(b) for b in ranges.values()],
    }
    points = pd.DataFrame(latin.sample(problem, samples, seed=seed), columns=ranges)
    points.index += first
    for name in ranges:
        if field_of(name, calibration.params_type())[2].type in ("int", int):
            points[name] = points[name].round().astype(int)
    return points


def run_task(base, target_set, target_ids, values, point, replicate, seed) -> dict:
    """One (point, seed): the statistics of the named targets, as one table row."""
    params = with_overrides(base, **values)
    targets = [t for t in target_set.targets if t.id in target_ids]
    stats_ = calibration.evaluate(params, target_set, targets, seed)
    return {"point": point, "replicate": replicate, "seed": seed} | values | stats_


def run_tasks(tasks: list[tuple], workers: int, checkpoint: PointCheckpoint, label: str) -> list:
    """Run `tasks` (argument tuples of run_task) in `workers` processes, saving as they end."""
    rows, started, every = [], time.perf_counter(), max(1, len(tasks) // 10)

    def finished(row):
        rows.append(row)
        checkpoint.add([row])
        if len(rows) % every == 0 or len(rows) == len(tasks):
            log.info(
                "%s: %d/%d (%.0f s)", label, len(rows), len(tasks), time.perf_counter() - started
            )

    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            finished(run_task(*task))
        return rows
    run_parallel(run_task, dict(enumerate(tasks)), workers, lambda _, row: finished(row))
    return rows


def execute(tasks: list[tuple], cfg, checkpoint, target_set, hydra_args: list[str], label: str):
    """Run `tasks` here (`jobs=0`) or as `cfg.jobs` Hydra jobs (experiments/calibrate_job.py)
    on the launcher `hydra_args` choose; either way each finished pair lands in `checkpoint`."""
    if not tasks:
        return
    if cfg.jobs == 0:
        run_tasks(tasks, cfg.workers, checkpoint, label)
        return
    out = checkpoint.dir.parent
    spec = {
        "config_hash": checkpoint.config_hash,
        "targets": target_set.data,
        "base": cfg.base,
        "workers": cfg.workers,
        "checkpoint_seconds": cfg.checkpoint_seconds,
        "tasks": [
            {"targets": ids, "values": values, "point": p, "replicate": i, "seed": seed}
            for _, _, ids, values, p, i, seed in tasks
        ],
    }
    io.write_json(out / "tasks.json", spec)
    command = [
        sys.executable,
        "-m",
        "experiments.calibrate_job",
        "-m",
        f"tasks={(out / 'tasks.json').resolve()}",
        f"jobs={cfg.jobs}",
        f"job=range(0,{cfg.jobs})",
        f"hydra.sweep.dir={(out / 'runs').resolve()}",
        *hydra_args,
    ]
    log.info("%s: %d pairs in %d Hydra jobs", label, len(tasks), cfg.jobs)
    status = run_command(command, PROJECT_ROOT)  # stops (and saves) if this one is killed
    if status != 0:
        raise CalibrationError(
            f"the Hydra jobs exited with status {status}; rerun the same command to resume"
        )


class CalibrationError(Exception):
    """A calibration could not finish (its saved work is kept for a rerun)."""


# --- ABC rejection ------------------------------------------------------------------------


def point_means(rows: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Each point's statistics averaged over its seeds (NaN seeds left out)."""
    return rows.groupby("point")[ids].mean().sort_index()


def distances(means: pd.DataFrame, targets: list[calibration.Target]) -> pd.Series:
    """sqrt(mean over targets of (miss / tolerance)^2) at each point."""
    misses = np.column_stack([[t.miss(v) for v in means[t.id]] for t in targets])
    return pd.Series(np.sqrt(np.mean(misses**2, axis=1)), index=means.index, name="distance")


def accepted_box(points: pd.DataFrame, accepted, ranges: dict) -> dict:
    """The box the accepted points span, per parameter; a side they do not span (one accepted
    value) is widened to a tenth of the searched range around it, inside that range."""
    box = {}
    for name, (low, high) in ranges.items():
        values = points.loc[accepted, name]
        a, b = float(values.min()), float(values.max())
        if a == b:
            half = (high - low) / 20
            a, b = max(low, a - half), min(high, b + half)
        box[name] = (a, b)
    return box


def accept(means: pd.DataFrame, targets, fraction: float) -> tuple[pd.Index, str]:
    """The accepted points and how: 'tolerance' (all targets met) or 'closest' (the closest
    `fraction` of the points, when fewer than that meet every target)."""
    met = np.all([[t.met(v) for v in means[t.id]] for t in targets], axis=0)
    least = max(1, math.ceil(fraction * len(means)))
    if met.sum() >= least:
        return means.index[met], "tolerance"
    return distances(means, targets).nsmallest(least).index, "closest"


# --- outputs --------------------------------------------------------------------------------


def parameter_table(points, accepted, fitted_point, ranges) -> pd.DataFrame:
    rows = []
    for name, (low, high) in ranges.items():
        values = points.loc[accepted, name]
        q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
        rows.append(
            {
                "parameter": name,
                "searched_low": low,
                "searched_high": high,
                "fitted": points.loc[fitted_point, name],
                "accepted_min": values.min(),
                "accepted_max": values.max(),
                "accepted_q05": q05,
                "accepted_median": q50,
                "accepted_q95": q95,
            }
        )
    return pd.DataFrame(rows)


def result_table(validation: pd.DataFrame, target_set) -> pd.DataFrame:
    """Per target: model value with its 95% CI over seeds at the fitted point and at the
    defaults, tolerance, met or not, fit or held out."""
    rows = []
    for t in target_set.targets:
        row = {"target": t.id, "study": t.study, "use": t.use, "kind": t.kind, "value": t.value}
        row["tolerance"] = t.tolerance
        for point, arm in ARMS.items():
            est = stats.mean_ci(validation.loc[validation["point"] == point, t.id])
            row |= {arm: est.mean, f"{arm}_ci_low": est.ci_low, f"{arm}_ci_high": est.ci_high}
            row[f"{arm}_met"] = t.met(est.mean)
        rows.append(row)
    return pd.DataFrame(rows)


def fit_comparison(validation: pd.DataFrame, targets) -> dict:
    """Distance to the fitting targets at the fitted point and at the defaults, on the same
    fresh seeds: of each arm's seed means, and the paired difference of per-seed distances
    (defaults minus fitted; above 0: the fitted point is closer)."""
    arms = {
        arm: validation[validation["point"] == point].set_index("replicate").sort_index()
        for point, arm in ARMS.items()
    }
    out = {
        arm: float(distances(rows.mean(numeric_only=True).to_frame().T, targets).iloc[0])
        for arm, rows in arms.items()
    }
    diff = distances(arms["defaults"], targets) - distances(arms["fitted"], targets)
    est = stats.mean_ci(diff.to_numpy())
    return out | {"difference": est.mean, "ci_low": est.ci_low, "ci_high": est.ci_high}


def _target_text(row) -> str:
    sign = {"interval": "±", "above": "> ", "below": "< "}[row["kind"]]
    if row["kind"] == "interval":
        return f"{row['value']:.4g} {sign} {row['tolerance']:.3g}"
    return f"{sign}{row['value']:.4g}"


def markdown(
    table: pd.DataFrame, params: pd.DataFrame, how: str, n_accepted: int, cfg, comparison: dict
) -> str:
    lines = [
        "| target | use | target value | fitted model (95% CI) | met | defaults (95% CI) | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        cells = [r["target"], r["use"].replace("_", " "), _target_text(r)]
        for arm in ARMS.values():
            cells.append(f"{r[arm]:.4g} ({r[f'{arm}_ci_low']:.4g} to {r[f'{arm}_ci_high']:.4g})")
            cells.append("yes" if r[f"{arm}_met"] else "no")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Accepted points: {n_accepted} of {cfg.samples + cfg.refine_samples} ("
        + ("every fitting target met" if how == "tolerance" else "the closest by distance")
        + "); fitted point: "
        + (
            f"the closest on {cfg.confirm_replicates} further seeds of the {cfg.confirm_points} "
            "accepted points closest on the search seeds"
            if cfg.confirm_points
            else "the accepted point closest on the search seeds"
        )
        + f"; model values over {cfg.validation_replicates} fresh seeds.",
        "",
        f"Distance to the fitting targets on those seeds (0: all met): fitted "
        f"{comparison['fitted']:.3g}, defaults {comparison['defaults']:.3g}; defaults minus "
        f"fitted, paired by seed: {comparison['difference']:.3g} (95% CI "
        f"{comparison['ci_low']:.3g} to {comparison['ci_high']:.3g}).",
        "",
        "| parameter | searched | fitted | accepted median (5-95%) |",
        "|---|---|---|---|",
    ]
    for _, r in params.iterrows():
        lines.append(
            f"| {r['parameter']} | {r['searched_low']:.4g} to {r['searched_high']:.4g} | "
            f"{r['fitted']:.4g} | {r['accepted_median']:.4g} "
            f"({r['accepted_q05']:.4g} to {r['accepted_q95']:.4g}) |"
        )
    return "\n".join(lines) + "\n"


def fitted_yaml(values: dict, command: str) -> str:
    nested: dict = {}
    for key, value in values.items():
        group, name = key.split(".")
        nested.setdefault(group, {})[name] = value
    header = (
        "# @package _global_\n"
        f"# Fitted by: {command} (docs/calibration.md). Use as a Hydra config\n"
        "# (configs/experiment/) or pass fitted_overrides.txt on the command line.\n"
    )
    return header + yaml.safe_dump(nested, sort_keys=False)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# --- the command ----------------------------------------------------------------------------


def calibrate(
    name: str, overrides: list[str], out: Path, fresh: bool = False, hydra_args: list | None = None
) -> str:
    """Run (or resume, or skip if complete) a calibration; 'complete' or 'skipped'.
    `hydra_args` (hydra/launcher=..., hydra.launcher.KEY=...) choose the launcher of `jobs`."""
    hydra_args = list(hydra_args or [])
    cfg, target_set, ranges, base = check_config(read_config(name, overrides))
    digest = config_hash(cfg, target_set, ranges)
    record = io.read_json(out / PROVENANCE)
    checkpoint = PointCheckpoint(out, digest, cfg.checkpoint_seconds)
    if not fresh and record and record.get("status") == "complete":
        if record.get("config_hash") == digest and all(
            (out / n).is_file() and io.sha256(out / n) == h
            for n, h in record.get("outputs", {}).items()
        ):
            log.info("complete for this config already: %s", out)
            return "skipped"
    owner = (record or {}).get("config_hash") or checkpoint.saved_key()
    if not fresh and owner not in (None, digest):
        what = "finished" if record else "partial"
        raise ParameterError(
            f"{out} holds the {what} work of another calibration config or other code; "
            "use another --out, or add --fresh to replace it"
        )
    (out / PROVENANCE).unlink(missing_ok=True)
    started, clock = datetime.now(UTC), time.perf_counter()
    if fresh:
        checkpoint.clear()
    reused = len(_done_pairs(checkpoint))
    if reused:
        log.info("reusing %d finished (point, seed) pairs", reused)
    fit_ids = [t.id for t in target_set.fitting()]
    all_ids = [t.id for t in target_set.targets]
    seeds = [replicate_seed(cfg.seed, i) for i in range(cfg.replicates)]
    fresh_seeds = [replicate_seed(cfg.validation_seed, i) for i in range(cfg.validation_replicates)]
    search = range(cfg.replicates)
    further = range(cfg.replicates, cfg.replicates + cfg.confirm_replicates)  # replicate numbers
    further_seeds = [replicate_seed(cfg.confirm_seed, i) for i in range(cfg.confirm_replicates)]
    points = design(ranges, cfg.samples, cfg.design_seed)

    def measure(points, replicates, seeds, label):
        finished = _done_pairs(checkpoint)
        tasks = [
            (base, target_set, fit_ids, _values(points, p), p, i, seed)
            for p in points.index
            for i, seed in zip(replicates, seeds, strict=True)
            if (p, i) not in finished
        ]
        execute(tasks, cfg, checkpoint, target_set, hydra_args, label)
        checkpoint.flush()
        rows = _rows(checkpoint, fit_ids, set(points.index), replicates)
        _check_complete(rows, len(points) * len(replicates), label)
        return rows, point_means(rows, fit_ids)

    def run_points(points, label):
        rows, means = measure(points, search, seeds, label)
        return rows, means, *accept(means, target_set.fitting(), cfg.accept_fraction)

    with sigterm_as_exit():
        try:
            rows, means, accepted, how = run_points(points, "points")
            if cfg.refine_samples:
                box = accepted_box(points, accepted, ranges)
                refined = design(box, cfg.refine_samples, cfg.design_seed + 1, first=cfg.samples)
                points = pd.concat([points, refined])
                rows, means, accepted, how = run_points(points, "refined points")
            dist = distances(means, target_set.fitting())
            confirmed, confirm_dist = pd.DataFrame(), pd.Series(dtype=float)
            if cfg.confirm_points:
                candidates = dist.loc[accepted].nsmallest(cfg.confirm_points).index
                confirmed, confirm_means = measure(
                    points.loc[candidates], further, further_seeds, "confirmation"
                )
                confirm_dist = distances(confirm_means, target_set.fitting())
                fitted_point = int(confirm_dist.idxmin())
            else:
                fitted_point = int(dist.loc[accepted].idxmin())
            confirm_dist.name = "confirmed_distance"
            fitted = _values(points, fitted_point)
            finished = _done_pairs(checkpoint)
            tasks = [
                (base, target_set, all_ids, values, point, i, seed)
                for point, values in ((FITTED, fitted), (DEFAULTS, {}))
                for i, seed in enumerate(fresh_seeds)
                if (point, i) not in finished
            ]
            execute(tasks, cfg, checkpoint, target_set, hydra_args, "final measurements")
        finally:
            checkpoint.flush()
    validation = _rows(checkpoint, all_ids, set(ARMS), range(cfg.validation_replicates))
    _check_complete(validation, len(ARMS) * cfg.validation_replicates, "final measurements")
    table = result_table(validation, target_set)
    params = parameter_table(points, accepted, fitted_point, ranges)
    accepted_rows = points.loc[accepted].join(means).join(dist).join(confirm_dist)
    accepted_rows = accepted_rows.reset_index(names="point")
    accepted_rows.insert(1, "stage", np.where(accepted_rows["point"] < cfg.samples, 1, 2))
    command = " ".join(
        ["python -m experiments.calibrate", f"calibration={name}", *overrides, *hydra_args]
    )
    fitted_plain = {k: _plain(v) for k, v in fitted.items()}
    files = {
        "points.csv": rows,
        "accepted.csv": accepted_rows,
        "confirmation.csv": confirmed,
        "parameters.csv": params,
        "validation.csv": validation,
        "table.csv": table,
    }
    for file, frame in files.items():
        io.write_csv(out / file, frame)
    comparison = fit_comparison(validation, target_set.fitting())
    io.write_text(out / "table.md", markdown(table, params, how, len(accepted), cfg, comparison))
    io.write_text(out / "fitted.yaml", fitted_yaml(fitted_plain, command))
    overrides_line = " ".join(f"{k}={v}" for k, v in fitted_plain.items())
    io.write_text(out / "fitted_overrides.txt", overrides_line + "\n")
    names = [*files, "table.md", "fitted.yaml", "fitted_overrides.txt"]
    record = {
        "status": "complete",
        "config_hash": digest,
        "command": command,
        "config": dataclasses.asdict(cfg),
        "ranges": ranges,
        "targets": [dataclasses.asdict(t) for t in target_set.targets],
        "situations": target_set.situations,
        "seeds": seeds,
        "confirmation_seeds": further_seeds if cfg.confirm_points else [],
        "validation_seeds": fresh_seeds,
        "acceptance": {"how": how, "accepted": len(accepted), "points": len(points)},
        "fit_comparison": comparison,
        "fitted_point": fitted_point,
        "fitted": fitted_plain,
        "environment": io.environment(),
        "timing": {
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": time.perf_counter() - clock,
            "pairs_reused": reused,
            "workers": cfg.workers,
        },
        "outputs": {n: io.sha256(out / n) for n in names},
    }
    io.write_json(out / PROVENANCE, record)
    checkpoint.clear()
    (out / "tasks.json").unlink(missing_ok=True)  # the Hydra jobs' work list, done with
    return "complete"


def _values(points: pd.DataFrame, point: int) -> dict:
    return {k: _plain(v) for k, v in points.loc[point].items()}


def _rows(checkpoint: PointCheckpoint, ids: list[str], points: set, replicates) -> pd.DataFrame:
    """The saved rows of `points` on the seeds numbered `replicates`, one per (point, seed),
    sorted."""
    saved = checkpoint.load()
    rows = pd.DataFrame(
        [r for p, rs in saved.items() if p in points for r in rs if r["replicate"] in replicates]
    )
    if rows.empty:
        return pd.DataFrame(columns=["point", "replicate", "seed", *ids])
    rows = rows.drop_duplicates(["point", "replicate"]).sort_values(["point", "replicate"])
    keep = ["point", "replicate", "seed", *[c for c in rows.columns if "." in c], *ids]
    return rows[keep].reset_index(drop=True)


def _check_complete(rows: pd.DataFrame, expected: int, what: str) -> None:
    if len(rows) != expected:
        raise CalibrationError(
            f"{what}: {expected - len(rows)} of {expected} (point, seed) pairs did not finish; "
            "rerun the same command to resume"
        )


def _done_pairs(checkpoint: PointCheckpoint) -> set:
    return {(p, int(r["replicate"])) for p, rs in checkpoint.load().items() for r in rs}


def default_out(name: str, overrides: list[str]) -> Path:
    """`outputs/calibration/NAME`, or `NAME-HASH` naming the overrides that change the numbers
    (not `workers`, `jobs`, `checkpoint_seconds`), so that each config has its own folder."""
    changing = [o for o in overrides if o.partition("=")[0] not in EXECUTION_KEYS]
    if not changing:
        return Path("outputs/calibration") / name
    digest = hashlib.sha256("\n".join(changing).encode()).hexdigest()[:8]
    return Path("outputs/calibration") / f"{name}-{digest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.calibrate",
        description="Fit the structural parameters to published targets (docs/calibration.md).",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="calibration=NAME, KEY=VALUE overrides, and hydra/launcher=... for jobs > 0",
    )
    parser.add_argument("--out", help="output folder (default: outputs/calibration/NAME[-HASH])")
    parser.add_argument(
        "--fresh", action="store_true", help="start over: discard earlier results and partial work"
    )
    parser.add_argument("--wait", action="store_true", help="wait for a command using DIR")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    name, overrides, hydra_args = "default", [], []
    for item in args.overrides:
        if item.startswith("calibration="):
            name = item.partition("=")[2]
        elif item.startswith(("hydra/", "hydra.", "+hydra")):
            hydra_args.append(item)
        else:
            overrides.append(item)
    out = Path(args.out or default_out(name, overrides))
    try:  # the jobs' Hydra settings, checked as experiments.run checks its own
        if hydra_args:
            preflight.check_hydra_overrides(hydra_args, (out / "runs").resolve())
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every model step at INFO
    started = time.perf_counter()
    try:
        with lock.hold(out, wait=args.wait):  # one command per folder
            status = calibrate(name, overrides, out, args.fresh, hydra_args)
    except (ParameterError, lock.FolderBusy) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except CalibrationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (OSError, WorkerLost) as err:  # a full disk, a lost worker: what finished is kept
        print(f"error: {failure_text(err)}; rerun the same command to resume", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit) as stop:
        if isinstance(stop, SystemExit) and stop.code != 128 + signal.SIGTERM:
            raise
        print(
            f"stopped: finished pairs are kept in {out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130 if isinstance(stop, KeyboardInterrupt) else stop.code
    print(f"{out / 'table.md'} {status} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
