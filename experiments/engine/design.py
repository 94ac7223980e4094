"""Uncertainty designs over the structural parameters: Latin hypercube, Morris and Sobol (SALib).

A design is the `uncertainty` key of a job's config (`configs/uncertainty/*.yaml`, typed by
`DesignConfig`). The design's points are drawn by SALib from the factors' plausible ranges
(`plausible=` in `sim/params.py`) with the design's own seed, so every job of the sweep draws the
same points; job `job` of `jobs` runs its share of them (`chunk`). At each point the job runs the
base arm (the config's levers) and, for each declared contrast, the lever at its low and its high
value, all on the same replicate seeds (`run.replicates` seeds from `run.seed`, as in any job):
each lever's effect is a paired difference on common random numbers.

This module declares and checks designs and draws their points; `design_job.py` is the work of
one job (its share of the points) and `studies/sensitivity/analysis.py` analyses a finished design.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.params import ParameterError, check_value, group_fields, resolve_key

METHODS = ("morris", "sobol", "latin", "ensemble")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SIGNS = {"positive": 1, "negative": -1}
BASE_ARM = "base"


@dataclass
class Contrast:
    """A lever's paired contrast at every design point: `key` at `low` against `high`.

    `claims` gives, per outcome, the sign of the effect (high minus low) that the reports claim
    (`positive` or `negative`); robustness is the share of the plausible space that agrees.
    """

    key: str = ""  # the lever's dotted name; required
    low: Any = 0.0
    high: Any = 1.0
    claims: dict[str, str] = field(default_factory=dict)


@dataclass
class DesignConfig:
    """An uncertainty design: which method, over which factors, with which lever contrasts."""

    method: str = "morris"  # morris, sobol, latin, or ensemble (the rows of `ensemble`)
    samples: int = 10  # Morris trajectories, Sobol base sample (a power of 2), or LHS points
    levels: int = 4  # Morris grid levels
    seed: int = 0  # the design's own seed (the replicates' seeds come from run.seed)
    factors: list[str] = field(default_factory=list)  # dotted names; empty: all plausible ones
    contrasts: list[Contrast] = field(default_factory=list)
    outcomes: list[str] = field(
        default_factory=lambda: [
            "breakthrough_rate",
            "papers_per_researcher_year",
            "final_exploratory_share",
        ]
    )
    model: str = "abm"  # abm, or a test function with known indices: ishigami
    jobs: int = 1  # Hydra jobs the points are split into
    # method ensemble: a CSV of parameter sets, one per row, under dotted column names (for
    # example the calibration's accepted points), relative to the project's folder; each set
    # is also the status quo its burn-in runs, as in the calibration
    ensemble: str = ""
    # with a `weight` column (the calibration's posterior.csv), the sets are resampled by
    # weight to this many, systematically (no random draw): a set of weight w appears about
    # w x ensemble_size times, so effects over the rows are weighted by the posterior
    ensemble_size: int = 50
    # `posterior`: resample by the `weight` column; `equal`: every row counts the same (the
    # sets a calibration accepted at its last tolerance, when its importance weights are too
    # uneven to stand for a posterior: docs/calibration.md)
    ensemble_weights: str = "posterior"
    job: int = 0  # this job's share (the sweep sets it: uncertainty.job=range(0,jobs))


# --- test functions with published indices (the known-answer test) ---------------------------


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami & Homma (1990); x4 is a factor the function does not read."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


TEST_FUNCTIONS = {
    "ishigami": (ishigami, {f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3, 4)}, "y"),
}
MODELS = ("abm", *TEST_FUNCTIONS)


# --- declaring and checking ------------------------------------------------------------------


def as_spec(spec) -> DesignConfig:
    """A `DesignConfig` from a config's plain `uncertainty` dict (or one already)."""
    if isinstance(spec, DesignConfig):
        return spec
    values = dict(spec)
    values["contrasts"] = [Contrast(**dict(c)) for c in values.get("contrasts", [])]
    return DesignConfig(**values)


def _field(dotted: str) -> dataclasses.Field:
    group, name = resolve_key(dotted)
    return next(f for f in group_fields(group) if f.name == name)


def plausible_factors() -> list[str]:
    """Every parameter that declares a plausible range, by dotted name, in schema order."""
    from sim.params import parameter_table

    return [row["name"] for row in parameter_table() if row.get("plausible")]


def factors(spec: DesignConfig) -> dict[str, tuple[float, float]]:
    """The design's factors and the range each is sampled over."""
    if spec.model != "abm":
        return dict(TEST_FUNCTIONS[spec.model][1])
    if spec.method == "ensemble":
        table = ensemble_table(spec)
        return {name: (float(table[name].min()), float(table[name].max())) for name in table}
    names = list(spec.factors) or plausible_factors()
    return {name: tuple(_field(name).metadata["plausible"]) for name in names}


def outcomes(spec: DesignConfig) -> list[str]:
    return [TEST_FUNCTIONS[spec.model][2]] if spec.model != "abm" else list(spec.outcomes)


def check(spec) -> DesignConfig:
    """Check a design before anything runs; raise ParameterError naming key, value, allowed."""
    spec = as_spec(spec)
    if spec.method not in METHODS:
        raise ParameterError(
            f"uncertainty.method = {spec.method!r} is not a method; allowed: {', '.join(METHODS)}"
        )
    if spec.model not in MODELS:
        raise ParameterError(
            f"uncertainty.model = {spec.model!r} is unknown; allowed: {', '.join(MODELS)}"
        )
    if spec.samples < 2:
        raise ParameterError(f"uncertainty.samples = {spec.samples} must be at least 2")
    if spec.method == "sobol" and spec.samples & (spec.samples - 1):
        raise ParameterError(
            f"uncertainty.samples = {spec.samples} must be a power of 2 for a Sobol design"
        )
    if spec.method == "morris" and not (2 <= spec.levels <= 100 and spec.levels % 2 == 0):
        raise ParameterError(f"uncertainty.levels = {spec.levels} must be an even number >= 2")
    if spec.jobs < 1 or not 0 <= spec.job < spec.jobs:
        raise ParameterError(
            f"uncertainty.job = {spec.job} is out of range; allowed: 0 to jobs - 1 "
            f"(uncertainty.jobs = {spec.jobs})"
        )
    if spec.seed < 0:
        raise ParameterError(f"uncertainty.seed = {spec.seed} must be >= 0")
    if spec.method == "ensemble":
        check_ensemble(spec)
    elif spec.ensemble:
        raise ParameterError(
            f"uncertainty.ensemble = {spec.ensemble!r} is for method ensemble only "
            f"(uncertainty.method = {spec.method!r})"
        )
    if spec.model == "abm":
        for name in spec.factors if spec.method != "ensemble" else ():
            try:
                f = _field(name)
            except ParameterError as err:
                raise ParameterError(f"uncertainty.factors: {err}") from None
            if not f.metadata.get("plausible"):
                raise ParameterError(
                    f"uncertainty.factors: '{name}' has no plausible range; allowed: "
                    + ", ".join(plausible_factors())
                )
        if len(set(spec.factors)) != len(spec.factors):
            raise ParameterError(f"uncertainty.factors lists a name twice: {spec.factors}")
        keys = [c.key for c in spec.contrasts]
        for i, contrast in enumerate(spec.contrasts):
            where = f"uncertainty.contrasts[{i}]"
            try:
                f = _field(contrast.key)
            except ParameterError as err:
                raise ParameterError(f"{where}.key: {err}") from None
            if contrast.key in factors(spec):
                raise ParameterError(f"{where}.key = {contrast.key!r} is also a design factor")
            contrast.low = check_value(f"{where}.low ({contrast.key})", f, contrast.low)
            contrast.high = check_value(f"{where}.high ({contrast.key})", f, contrast.high)
            for outcome, sign in contrast.claims.items():
                if sign not in SIGNS:
                    raise ParameterError(
                        f"{where}.claims.{outcome} = {sign!r}; allowed: {', '.join(SIGNS)}"
                    )
                if outcome not in spec.outcomes:
                    raise ParameterError(
                        f"{where}.claims: '{outcome}' is not among uncertainty.outcomes "
                        f"({', '.join(spec.outcomes)})"
                    )
        if len(set(keys)) != len(keys):
            raise ParameterError(f"uncertainty.contrasts name a lever twice: {keys}")
    elif spec.contrasts:
        raise ParameterError(
            f"uncertainty.contrasts must be empty for the test function '{spec.model}'"
        )
    return spec


ENSEMBLE_WEIGHTS = ("posterior", "equal")


def ensemble_path(spec: DesignConfig) -> Path:
    return PROJECT_ROOT / spec.ensemble


def ensemble_table(spec: DesignConfig):
    """The ensemble's parameter sets: its columns that name parameters, in file order; with a
    `weight` column, `ensemble_size` rows resampled by weight (`systematic_resample`)."""
    import pandas as pd

    table = pd.read_csv(ensemble_path(spec))
    if "weight" in table.columns:
        weights = table["weight"].to_numpy(float)
        if spec.ensemble_weights == "equal":
            weights = np.ones_like(weights)
        table = table.iloc[systematic_resample(weights, spec.ensemble_size)]
    return table[[c for c in table.columns if "." in c]].reset_index(drop=True)


def systematic_resample(weights: np.ndarray, n: int) -> np.ndarray:
    """Row numbers of `n` draws by weight at the fixed positions (i + 1/2) / n of the weights'
    cumulative sum (systematic resampling, Kitagawa 1996, with the offset fixed at one half so
    that it is the same on every run); in row order."""
    if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
        raise ValueError("the weight column must hold numbers >= 0, not all 0")
    cumulative = np.cumsum(weights / weights.sum())
    positions = (np.arange(n) + 0.5) / n
    return np.minimum(np.searchsorted(cumulative, positions, side="right"), len(weights) - 1)


def ensemble_digest(spec: DesignConfig) -> str:
    """SHA-256 of the ensemble file: part of a job's resume key, so a new ensemble reruns."""
    return hashlib.sha256(ensemble_path(spec).read_bytes()).hexdigest()


def check_ensemble(spec: DesignConfig) -> None:
    """The ensemble file exists, and every value of its parameter columns is allowed."""
    where = f"uncertainty.ensemble = {spec.ensemble!r}"
    if spec.model != "abm" or not spec.ensemble:
        raise ParameterError(f"{where}: method ensemble needs a CSV file of parameter sets")
    if spec.factors:
        raise ParameterError(
            "uncertainty.factors must be empty for method ensemble (its columns are the factors)"
        )
    size = spec.ensemble_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ParameterError(f"uncertainty.ensemble_size = {size!r} must be a whole number >= 1")
    if spec.ensemble_weights not in ENSEMBLE_WEIGHTS:
        raise ParameterError(
            f"uncertainty.ensemble_weights = {spec.ensemble_weights!r}; allowed: "
            + ", ".join(ENSEMBLE_WEIGHTS)
        )
    try:
        table = ensemble_table(spec)
    except (OSError, ValueError) as err:
        raise ParameterError(f"{where} cannot be read: {err}") from None
    if table.empty or not len(table.columns):
        raise ParameterError(f"{where} holds no parameter set (columns named group.name)")
    for name in table.columns:
        try:
            f = _field(name)
        except ParameterError as err:
            raise ParameterError(f"{where}: column {err}") from None
        for value in table[name].tolist():
            check_value(f"{name} in {spec.ensemble}", f, value)


# --- drawing the points ----------------------------------------------------------------------


def problem(spec: DesignConfig) -> dict:
    """SALib's problem definition of the design."""
    return salib_problem(factors(spec))


def salib_problem(ranges: dict[str, tuple[float, float]]) -> dict:
    """SALib's problem definition of factors and their (low, high) ranges."""
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [list(b) for b in ranges.values()],
    }


def latin_hypercube(ranges: dict[str, tuple[float, float]], samples: int, seed: int) -> np.ndarray:
    """`samples` Latin-hypercube points over `ranges` (McKay, Beckman & Conover 1979; SALib's
    sampler), one row each, the same for the same seed on every machine: the project's one
    Latin-hypercube sampler."""
    from SALib.sample import latin

    return latin.sample(salib_problem(ranges), samples, seed=seed)


def sample(spec: DesignConfig) -> np.ndarray:
    """All the design's points (one row per point), the same on every call and machine."""
    from SALib.sample import morris, sobol

    if spec.method == "ensemble":
        return ensemble_table(spec).to_numpy(dtype=float)
    prob = problem(spec)
    if spec.method == "morris":
        return morris.sample(prob, spec.samples, num_levels=spec.levels, seed=spec.seed)
    if spec.method == "sobol":
        return sobol.sample(prob, spec.samples, calc_second_order=False, seed=spec.seed)
    return latin_hypercube(factors(spec), spec.samples, spec.seed)


def chunk(n_points: int, jobs: int, job: int) -> range:
    """The points job `job` of `jobs` runs: consecutive, as even in size as can be."""
    edges = np.linspace(0, n_points, jobs + 1).round().astype(int)
    return range(int(edges[job]), int(edges[job + 1]))


def arms(spec: DesignConfig) -> list[tuple[str, dict]]:
    """(name, lever overrides) of each arm run at every point: base, then each contrast's ends."""
    out = [(BASE_ARM, {})]
    for c in spec.contrasts:
        out += [(f"{c.key}:low", {c.key: c.low}), (f"{c.key}:high", {c.key: c.high})]
    return out


def point_overrides(spec: DesignConfig, row: np.ndarray) -> dict:
    """The parameter values of one design point (ints rounded for integer parameters)."""
    values = {}
    for name, value in zip(factors(spec), row, strict=True):
        if spec.model == "abm" and _field(name).type in ("int", int):
            value = round(value)
        values[name] = float(value) if not isinstance(value, int) else value
    return values
