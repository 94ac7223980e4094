"""Calibrate the structural parameters to published targets: ABC-SMC (pyabc), reproducible.

    python -m experiments.calibrate [calibration=NAME] [OVERRIDE ...] [--out DIR] [--fresh]
                                    [--wait]

NAME is a Hydra config of `configs/calibration/` (default `default`; `quick` is a short version
that inherits it), typed by `CalibrationConfig`; OVERRIDEs are Hydra's (`population=50`,
`++base.population.n_researchers=1000`, `++parameters.guanxi.weight=[0,2]`, `~parameters`).
Everything is checked before anything runs: a bad key, value, target or parameter stops the
command with one line naming it and exit status 2.

Method (docs/calibration.md):
1. one evaluation of a parameter set = each fitting target's statistic
   (experiments/calibration.py) on `replicates` seeds, the situations of a target paired on each
   seed, averaged over the seeds;
2. a pilot: `pilot_points` Latin-hypercube points (SALib) over the prior ranges, each evaluated
   once; the variance of each statistic over a point's seeds, averaged over the points, is the
   seed noise the distance allows for, fixed for the run;
3. the distance (experiments/abc_smc.py, `NoisyDistance`): sqrt(mean over fitting targets of
   miss^2 / (tolerance^2 + discrepancy^2 + seed variance / replicates)), the discrepancy being
   `discrepancy` x the tolerance;
4. ABC-SMC (Toni et al. 2009; Beaumont et al. 2009) with pyabc (Klinger, Rickert & Hasenauer
   2018; Schälte et al. 2022): uniform priors over the `parameters` ranges, `population`
   particles per generation, epsilon the weighted `epsilon_quantile` of the last generation's
   distances; it stops after `generations`, once epsilon would fall to `min_epsilon`, or once
   `max_simulations` parameter sets were proposed. Proposals are drawn in this process and
   replayed in order (`OrderedSampler`), each simulation's seed derived from (`seed`,
   generation, proposal, replicate): the numbers do not depend on `workers`;
5. the fitted point: with `confirm_points` > 0, among that many particles of the last
   generation closest to the targets, the closest on `confirm_replicates` further seeds (the
   same seeds for all, so the choice does not reward luck on a particle's own seeds); else the
   closest particle;
6. every target (fitted and held out) is then measured at the fitted point, and at the current
   defaults, on `validation_replicates` fresh seeds, with 95% bootstrap CIs over seeds.

Outputs in DIR (default outputs/calibration/NAME, or NAME-HASH where HASH names the overrides that
change the numbers, so that configs never share a folder), each written atomically:
`posterior.csv` (the last generation: each parameter set with its importance weight, distance
and statistics), `generations.csv` (epsilon, proposals, acceptance rate per generation),
`distance.csv` (each fitting target's tolerance, discrepancy and pilot seed variance),
`points.csv` (every simulated parameter set and seed), `confirmation.csv`, `parameters.csv`
(prior range, fitted value, weighted posterior median and 5-95%), `validation.csv` (every seed of
the final measurements), `table.csv` and `table.md`, `fitted.yaml` (the fitted values as a Hydra
config) and `fitted_overrides.txt` (the same as command-line overrides), then `provenance.json`.
A rerun with the same config, targets and model code returns at once; an interrupted run resumes
from the finished generations (pyabc's database) and (parameter set, seed) pairs saved under
DIR/.partial. A folder belongs to one config and code: another is refused (exit 2) unless
`--fresh`, which starts over, replacing what the folder held.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import shutil
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

from ...analysis import stats
from ...engine import io, lock, preflight, runner
from ...engine.design_job import PointCheckpoint
from ...engine.errors import BadInput
from ...engine.job import run_command
from ...engine.replicates import replicate_seed
from ...engine.runner import WorkerLost, failure_text, sigterm_as_exit
from ...engine.schema import flatten
from . import abc_smc, calibrate_job, calibration

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = PROJECT_ROOT / "configs" / "calibration"
PROVENANCE = "provenance.json"
FITTED, DEFAULTS = -1, -2  # point numbers of the final measurements
ARMS = {FITTED: "fitted", DEFAULTS: "defaults"}
EXECUTION_KEYS = ("workers", "jobs", "checkpoint_seconds")  # change how, not what, is computed
STRIDE = 10_000_000  # point number = (generation + 1) x STRIDE + proposal (the pilot: -1)
DATABASE = "abc.db"  # pyabc's history, under DIR/.partial/


@dataclass
class CalibrationConfig:
    """A calibration: which targets, which parameters over which ranges, and the budget."""

    targets: str = "configs/calibration/targets.yaml"  # relative to the project
    fit_also: list = field(default_factory=list)  # held-out target ids this calibration fits
    parameters: dict = field(default_factory=dict)  # dotted name -> [low, high] or null (plausible)
    population: int = 200  # particles per ABC-SMC generation
    generations: int = 8  # at most this many generations
    epsilon_quantile: float = 0.5  # epsilon: this weighted quantile of the last distances
    min_epsilon: float = 0.0  # stop once epsilon would fall to this
    kernel_scaling: float = 2.0  # the proposal kernel's width, times pyabc's default (Silverman)
    max_simulations: int = 20000  # stop once this many parameter sets were proposed
    replicates: int = 3  # seeds per evaluated parameter set
    seed: int = 0  # root of the search's seeds (proposals, simulations, pilot)
    pilot_points: int = 20  # prior points whose seed spread measures the seed noise
    discrepancy: float = 0.5  # model discrepancy, in tolerances of each target
    confirm_points: int = 0  # closest particles re-run on further seeds to choose the fitted one
    confirm_replicates: int = 10  # those further seeds
    confirm_seed: int = 2  # root of their seeds
    validation_replicates: int = 20  # fresh seeds for the final measurements
    validation_seed: int = 1  # root of their seeds
    base: dict = field(default_factory=dict)  # model overrides applied everywhere
    workers: int = 2  # processes per job
    jobs: int = 0  # 0: run here; N: N Hydra jobs on the launcher given by hydra/... overrides
    checkpoint_seconds: float = 30.0


# --- reading and checking a config ----------------------------------------------------------


def config_names() -> list[str]:
    """The calibration configs: every YAML file of `configs/calibration/` but the targets'."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem not in ("targets", "frozen"))


def read_config(name: str, overrides: list[str]) -> dict:
    """`configs/calibration/NAME.yaml` composed by Hydra with Hydra overrides (`population=100`,
    `++parameters.guanxi.weight=[0,2]`, `~parameters`, `++base.run.years=10`), as data."""
    if name not in config_names():
        raise ParameterError(
            f"calibration = {name!r} is not a config; allowed: {', '.join(config_names())}"
        )
    try:
        return preflight.compose_file(CONFIG_DIR, name, overrides)
    except BadInput as err:
        raise ParameterError(str(err)) from None


def whole(key: str, value, low: int) -> int:
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
        ("population", 2),
        ("generations", 1),
        ("max_simulations", 1),
        ("replicates", 2),
        ("pilot_points", 2),
        ("validation_replicates", 2),
        ("workers", 1),
        ("jobs", 0),
        ("seed", 0),
        ("validation_seed", 0),
        ("confirm_points", 0),
        ("confirm_replicates", 1),
        ("confirm_seed", 0),
    ):
        whole(key, getattr(cfg, key), low)
    if not cfg.population <= cfg.max_simulations < STRIDE:
        raise ParameterError(
            f"max_simulations = {cfg.max_simulations} must be from population "
            f"({cfg.population}) to {STRIDE - 1}"
        )
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
    quantile = cfg.epsilon_quantile
    if isinstance(quantile, bool) or not isinstance(quantile, int | float) or not 0 < quantile <= 1:
        raise ParameterError(f"epsilon_quantile = {quantile!r} must be in (0, 1]")
    scaling = cfg.kernel_scaling
    if isinstance(scaling, bool) or not isinstance(scaling, int | float) or not scaling > 0:
        raise ParameterError(f"kernel_scaling = {scaling!r} must be a number > 0")
    for key in ("min_epsilon", "discrepancy"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ParameterError(f"{key} = {value!r} must be a number >= 0")
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


def run_pairs(tasks: list[tuple], workers: int, checkpoint: PointCheckpoint, label: str) -> None:
    """Run `tasks` (argument tuples of `calibrate_job.run_task`) here or in `workers` processes
    (`engine/runner.py`), each finished pair saved in `checkpoint`; a log line per tenth."""
    started = time.perf_counter()
    every = max(1, len(tasks) // 10) if len(tasks) >= 20 else len(tasks)  # short: one line

    def note(count: int) -> None:
        if count % every == 0 or count == len(tasks):
            log.info("%s: %d/%d (%.0f s)", label, count, len(tasks), time.perf_counter() - started)

    tasks_by_number = dict(enumerate(tasks))
    runner.run_tasks(
        calibrate_job.run_task, tasks_by_number, workers, checkpoint=checkpoint, progress=note
    )


def execute(tasks: list[tuple], cfg, checkpoint, target_set, hydra_args: list[str], label: str):
    """Run `tasks` here (`jobs=0`) or as `cfg.jobs` Hydra jobs (experiments/calibrate_job.py)
    on the launcher `hydra_args` choose; either way each finished pair lands in `checkpoint`."""
    if not tasks:
        return
    if cfg.jobs == 0:
        run_pairs(tasks, cfg.workers, checkpoint, label)
        return
    out = checkpoint.dir.parent
    spec = {
        "config_hash": checkpoint.key,
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
    harvest(out / "runs", checkpoint)
    if status != 0:
        raise CalibrationError(
            f"the Hydra jobs exited with status {status}; rerun the same command to resume"
        )


def harvest(runs: Path, checkpoint: PointCheckpoint) -> None:
    """Put every pair the Hydra jobs under `runs` finished (`calibrate_job.harvest`), those of a
    killed job included, into the calibration's checkpoint."""
    rows = calibrate_job.harvest(runs, checkpoint.key)
    for row in rows:
        checkpoint.add([row])
    checkpoint.flush()
    if rows:
        log.info("%d (point, seed) pairs from Hydra jobs", len(rows))


class CalibrationError(Exception):
    """A calibration could not finish (its saved work is kept for a rerun)."""


# --- distances and tables ------------------------------------------------------------------


def point_means(rows: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Each point's statistics averaged over its seeds (NaN seeds left out)."""
    return rows.groupby("point")[ids].mean().sort_index()


def distances(means: pd.DataFrame, targets: list[calibration.Target]) -> pd.Series:
    """sqrt(mean over targets of (miss / tolerance)^2) at each point: the plain distance in
    tolerances the final measurements report (the search's distance adds noise terms)."""
    misses = np.column_stack([[t.miss(v) for v in means[t.id]] for t in targets])
    return pd.Series(np.sqrt(np.mean(misses**2, axis=1)), index=means.index, name="distance")


def seed_variances(rows: pd.DataFrame, ids: list[str]) -> dict[str, float]:
    """Each statistic's variance over a point's seeds, averaged over the points (the pilot)."""
    spread = rows.groupby("point")[ids].var(ddof=1)
    return {i: float(np.nan_to_num(spread[i].mean(), nan=0.0)) for i in ids}


def weighted_quantiles(values, weights, qs) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted distribution function, with
    each particle's weight centred on its value)."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cumulative = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(q, cumulative, v)) for q in qs]


def parameter_table(posterior: pd.DataFrame, fitted: dict, ranges) -> pd.DataFrame:
    rows = []
    for name, (low, high) in ranges.items():
        values, weights = posterior[name], posterior["weight"]
        q05, q50, q95 = weighted_quantiles(values, weights, (0.05, 0.5, 0.95))
        rows.append(
            {
                "parameter": name,
                "prior_low": low,
                "prior_high": high,
                "fitted": fitted[name],
                "posterior_q05": q05,
                "posterior_median": q50,
                "posterior_q95": q95,
                "posterior_min": values.min(),
                "posterior_max": values.max(),
            }
        )
    return pd.DataFrame(rows)


def distance_table(targets, cfg, seed_var: dict) -> pd.DataFrame:
    rows = []
    for t in targets:
        row = {"target": t.id, "kind": t.kind, "tolerance": t.tolerance}
        row["discrepancy"] = cfg.discrepancy * t.tolerance
        row["seed_variance"] = seed_var[t.id]
        row["scale"] = abc_smc.NoisyDistance([t], cfg.discrepancy, seed_var, cfg.replicates).scale[
            t.id
        ]
        rows.append(row)
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


def markdown(table: pd.DataFrame, params: pd.DataFrame, cfg, summary: dict) -> str:
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
    comparison = summary["fit_comparison"]
    lines += [
        "",
        f"ABC-SMC: {summary['generations']} generations of {cfg.population} particles, "
        f"{summary['proposals']} parameter sets proposed on {cfg.replicates} seeds each; "
        f"last epsilon {summary['epsilon']:.3g}, {summary['distinct']} distinct sets in the "
        f"posterior (effective sample size {summary['ess']:.0f}); stopped: {summary['stop']}. "
        "Fitted point: "
        + (
            f"the closest on {cfg.confirm_replicates} further seeds of the {cfg.confirm_points} "
            "posterior particles closest on their own seeds"
            if cfg.confirm_points
            else "the posterior particle closest on its own seeds"
        )
        + f"; model values over {cfg.validation_replicates} fresh seeds.",
        "",
        f"Distance to the fitting targets on those seeds, in tolerances: fitted "
        f"{comparison['fitted']:.3g}, defaults {comparison['defaults']:.3g}; defaults minus "
        f"fitted, paired by seed: {comparison['difference']:.3g} (95% CI "
        f"{comparison['ci_low']:.3g} to {comparison['ci_high']:.3g}).",
        "",
        "| parameter | prior | fitted | posterior median (5-95%) |",
        "|---|---|---|---|",
    ]
    for _, r in params.iterrows():
        lines.append(
            f"| {r['parameter']} | {r['prior_low']:.4g} to {r['prior_high']:.4g} | "
            f"{r['fitted']:.4g} | {r['posterior_median']:.4g} "
            f"({r['posterior_q05']:.4g} to {r['posterior_q95']:.4g}) |"
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


class Evaluations:
    """The (point, seed) pairs of a calibration: saved in the checkpoint as they finish, kept
    here in memory, run here or as Hydra jobs (`execute`)."""

    def __init__(self, checkpoint, cfg, target_set, base, hydra_args):
        self.checkpoint, self.cfg, self.target_set, self.base = checkpoint, cfg, target_set, base
        self.hydra_args = hydra_args
        self.done = checkpoint.load()

    def rows(self, points: dict, replicates, seed_of, ids: list[str], label: str) -> pd.DataFrame:
        """The statistics `ids` of each of `points` ({point: values}) on the seeds numbered
        `replicates` (`seed_of(point, replicate)`), run where not saved; one row per pair."""
        replicates = list(replicates)
        tasks = [
            (self.base, self.target_set, ids, values, p, i, seed_of(p, i))
            for p, values in points.items()
            for i in replicates
            if not any(int(r["replicate"]) == i for r in self.done.get(p, ()))
        ]
        execute(tasks, self.cfg, self.checkpoint, self.target_set, self.hydra_args, label)
        if tasks:
            self.done = self.checkpoint.load()
        rows = [r for p in points for r in self.done.get(p, ()) if r["replicate"] in replicates]
        if len({(r["point"], r["replicate"]) for r in rows}) != len(points) * len(replicates):
            raise CalibrationError(
                f"{label}: some (point, seed) pairs did not finish; rerun the same command to "
                "resume"
            )
        return _table(rows, ids)


def _table(rows: list[dict], ids: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=["point", "replicate", "seed", *ids])
    table = pd.DataFrame(rows).drop_duplicates(["point", "replicate"])
    table = table.sort_values(["point", "replicate"])
    keep = ["point", "replicate", "seed", *[c for c in table.columns if "." in c], *ids]
    return table[keep].reset_index(drop=True)


def search_seed(root: int):
    """The seed of replicate i of point p in the search (pilot and generations)."""
    return lambda p, i: abc_smc.proposal_seed(root, p // STRIDE - 1, p % STRIDE, i)


def model_values(parameters: dict, ranges: dict) -> dict:
    """A particle's parameters as model overrides, integers rounded for integer parameters."""
    out = {}
    for name in ranges:
        value = float(parameters[name])
        if field_of(name, calibration.params_type())[2].type in ("int", int):
            value = int(round(value))
        out[name] = value
    return out


def run_abc(cfg, ranges, fit_targets, distance, evaluations, database: Path) -> str:
    """Run (or continue) the ABC-SMC generations in `database`; why they stopped."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    fit_ids = [t.id for t in fit_targets]
    proposals = abc_smc.ProposalLog(fit_ids, STRIDE)

    def measure(generation: int, pending: dict) -> dict:
        points = {p: model_values(v, ranges) for p, v in pending.items()}
        rows = evaluations.rows(
            points,
            range(cfg.replicates),
            search_seed(cfg.seed),
            fit_ids,
            f"generation {generation}",
        )
        means = point_means(rows, fit_ids)
        return {p: {i: float(means.at[p, i]) for i in fit_ids} | {"point": p} for p in points}

    sampler = abc_smc.OrderedSampler(proposals, measure, cfg.seed, min_batch=4 * cfg.workers)
    priors = pyabc.Distribution(
        **{name: pyabc.RV("uniform", low, high - low) for name, (low, high) in ranges.items()}
    )
    url = f"sqlite:///{database}"
    while True:
        abc = pyabc.ABCSMC(
            pyabc.FunctionModel(proposals, name="model"),
            priors,
            distance,
            population_size=cfg.population,
            transitions=pyabc.MultivariateNormalTransition(scaling=cfg.kernel_scaling),
            sampler=sampler,
            eps=abc_smc.ResumableQuantileEpsilon(math.inf, alpha=cfg.epsilon_quantile),
        )
        history = abc.load(url, 1) if database.is_file() else None
        if history is not None and history.max_t < 0:  # killed before its first generation
            database.unlink()
            history = None
        if history is None:
            history = abc.new(url, {t.id: t.value for t in fit_targets})
        generation = history.max_t + 1
        stop = stop_reason(cfg, history, generation)
        if stop:
            return stop
        log.info("generation %d", generation)
        abc.run(max_nr_populations=1)


def stop_reason(cfg, history, generation: int) -> str:
    """Why no further generation runs ('' to run one): pyabc's criteria, checked here between
    generations so that a resumed run stops where an uninterrupted one would."""
    from pyabc.weighted_statistics import weighted_quantile

    if generation >= cfg.generations:
        return f"{cfg.generations} generations"
    if generation == 0:
        return ""
    if history.total_nr_simulations >= cfg.max_simulations:
        return f"{history.total_nr_simulations} proposals (max_simulations {cfg.max_simulations})"
    last = history.get_weighted_distances(generation - 1)
    epsilon = weighted_quantile(
        last["distance"].to_numpy(), last["w"].to_numpy(), alpha=cfg.epsilon_quantile
    )
    if epsilon <= cfg.min_epsilon:
        return f"epsilon {epsilon:.3g} at min_epsilon {cfg.min_epsilon}"
    return ""


def read_posterior(database: Path, ranges: dict, fit_ids: list[str]) -> tuple:
    """(the last generation as a table, the generations table) from pyabc's history."""
    import pyabc

    history = pyabc.History(f"sqlite:///{database}")
    history.id = 1
    last = history.max_t
    population = history.get_population(last)
    rows = []
    for particle in population.particles:
        stats_ = particle.sum_stat
        rows.append(
            {"point": int(round(float(stats_["point"]))), "generation": last}
            | {"weight": particle.weight}
            | model_values(particle.parameter, ranges)
            | {"distance": particle.distance}
            | {i: float(stats_[i]) for i in fit_ids}
        )
    posterior = pd.DataFrame(rows).sort_values("point").reset_index(drop=True)
    posterior["weight"] /= posterior["weight"].sum()
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    generations = pd.DataFrame(
        {
            "generation": populations["t"].astype(int),
            "epsilon": populations["epsilon"].astype(float),
            "proposals": populations["samples"].astype(int),
            "accepted": populations["particles"].astype(int),
        }
    ).reset_index(drop=True)
    generations["acceptance_rate"] = generations["accepted"] / generations["proposals"]
    return posterior, generations


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
        shutil.rmtree(out / "runs", ignore_errors=True)
    harvest(out / "runs", checkpoint)  # what the Hydra jobs of a stopped run finished
    evaluations = Evaluations(checkpoint, cfg, target_set, base, hydra_args)  # drops others' work
    reused = sum(len(rows) for rows in evaluations.done.values())
    if reused:
        log.info("reusing %d finished (point, seed) pairs", reused)
    _claim(checkpoint)
    fit_targets = target_set.fitting()
    fit_ids = [t.id for t in fit_targets]
    all_ids = [t.id for t in target_set.targets]
    fresh_seeds = [replicate_seed(cfg.validation_seed, i) for i in range(cfg.validation_replicates)]
    further = range(cfg.replicates, cfg.replicates + cfg.confirm_replicates)  # replicate numbers
    further_seeds = [replicate_seed(cfg.confirm_seed, i) for i in range(cfg.confirm_replicates)]
    database = checkpoint.dir / DATABASE

    with sigterm_as_exit():
        pilot_design = design(ranges, cfg.pilot_points, cfg.seed)
        pilot = evaluations.rows(
            {p: _values(pilot_design, p) for p in pilot_design.index},
            range(cfg.replicates),
            search_seed(cfg.seed),
            fit_ids,
            "pilot",
        )
        seed_var = seed_variances(pilot, fit_ids)
        distance = abc_smc.NoisyDistance(fit_targets, cfg.discrepancy, seed_var, cfg.replicates)
        stop = run_abc(cfg, ranges, fit_targets, distance, evaluations, database)
        posterior, generations = read_posterior(database, ranges, fit_ids)
        confirmed = pd.DataFrame()
        if cfg.confirm_points:
            candidates = posterior.nsmallest(cfg.confirm_points, "distance", keep="first")
            confirmed = evaluations.rows(
                {int(r["point"]): {k: r[k] for k in ranges} for _, r in candidates.iterrows()},
                further,
                lambda p, i: further_seeds[i - cfg.replicates],
                fit_ids,
                "confirmation",
            )
            confirm_distance = abc_smc.NoisyDistance(
                fit_targets, cfg.discrepancy, seed_var, cfg.confirm_replicates
            )
            means = point_means(confirmed, fit_ids)
            closeness = pd.Series({p: confirm_distance(r) for p, r in means.iterrows()})
            fitted_point = int(closeness.idxmin())
        else:
            fitted_point = int(posterior.loc[posterior["distance"].idxmin(), "point"])
        chosen = posterior.set_index("point").loc[fitted_point]
        fitted = {k: _plain(chosen[k]) for k in ranges}
        validation = evaluations.rows(
            {FITTED: fitted, DEFAULTS: {}},
            range(cfg.validation_replicates),
            lambda p, i: fresh_seeds[i],
            all_ids,
            "final measurements",
        )
    table = result_table(validation, target_set)
    params = parameter_table(posterior, fitted, ranges)
    searched = _table(
        [
            r
            for p, rs in evaluations.done.items()
            if p >= 0
            for r in rs
            if r["replicate"] < cfg.replicates
        ],
        fit_ids,
    )
    searched.insert(0, "generation", searched["point"] // STRIDE - 1)
    command = " ".join(
        ["python -m experiments.calibrate", f"calibration={name}", *overrides, *hydra_args]
    )
    weights = posterior["weight"].to_numpy()
    summary = {
        "generations": len(generations),
        "proposals": int(generations["proposals"].sum()),
        "epsilon": float(generations["epsilon"].iloc[-1]),
        "distinct": int(posterior[list(ranges)].drop_duplicates().shape[0]),
        "ess": float(1.0 / np.sum(weights**2)),
        "stop": stop,
        "fit_comparison": fit_comparison(validation, fit_targets),
    }
    files = {
        "posterior.csv": posterior,
        "generations.csv": generations,
        "distance.csv": distance_table(fit_targets, cfg, seed_var),
        "points.csv": searched,
        "confirmation.csv": confirmed,
        "parameters.csv": params,
        "validation.csv": validation,
        "table.csv": table,
    }
    for file, frame in files.items():
        io.write_csv(out / file, frame)
    io.write_text(out / "table.md", markdown(table, params, cfg, summary))
    io.write_text(out / "fitted.yaml", fitted_yaml(fitted, command))
    overrides_line = " ".join(f"{k}={v}" for k, v in fitted.items())
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
        "seed_variance": seed_var,
        "confirmation_seeds": further_seeds if cfg.confirm_points else [],
        "validation_seeds": fresh_seeds,
        "abc_smc": {k: v for k, v in summary.items() if k != "fit_comparison"},
        "fit_comparison": summary["fit_comparison"],
        "fitted_point": fitted_point,
        "fitted": fitted,
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


def _claim(checkpoint: PointCheckpoint) -> None:
    """Mark DIR/.partial as this config's before anything (pyabc's database) is written."""
    if checkpoint.saved_key() is None:
        if checkpoint.dir.exists() and not checkpoint.dir.is_dir():
            checkpoint.dir.unlink()
        elif checkpoint.dir.is_dir():
            shutil.rmtree(checkpoint.dir)  # no key: nothing of a known config to keep
        io.write_atomic(checkpoint.dir / "config_hash", lambda f: f.write(checkpoint.key))


def _values(points: pd.DataFrame, point: int) -> dict:
    return {k: _plain(v) for k, v in points.loc[point].items()}


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
        help="calibration=NAME, Hydra overrides, and hydra/launcher=... for jobs > 0",
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
