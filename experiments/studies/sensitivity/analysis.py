"""The analysis of a finished uncertainty design: indices, robustness, reversals.

What it computes, for each outcome at the base arm and for each lever's paired effect on each
outcome (high minus low on the same seeds, averaged over seeds at each point):
- Morris (Morris 1991; Campolongo, Cariboni & Saltelli 2007): mu, mu* and sigma of the
  elementary effects, per unit of each factor's plausible range, with bootstrap CIs over
  trajectories; mu* agrees with SALib's `morris.analyze`;
- Sobol (Saltelli et al. 2010 estimators, SALib): first-order S1 and total ST with SALib's
  bootstrap CIs;
- robustness of each lever's claimed sign: the share of design points where the seed-averaged
  effect has that sign (Wilson CI), and, from each point's Student-t seed CI, the shares where it
  is significantly that sign, significantly the other, or not told apart from 0 (noisy rather than
  not robust); the effect's quantiles over the space;
- PRIM (Friedman & Fisher 1999; EMA Workbench's implementation) on the points where a lever's
  effect has the other sign: the box of factor ranges that holds them, with coverage and density.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ...engine import design, design_job, io, schema
from ...engine.job import finished_record
from ...engine.store import code_versions

CONFIDENCE = 0.95
N_BOOTSTRAP = 1000
BOOTSTRAP_SEED = 20221007  # fixed, so intervals are reproducible (as in analysis/stats.py)
PRIM_THRESHOLD = 0.5  # a PRIM box must hold at least this share of reversing points
PRIM_MAX_RESTRICTED = 5  # the reported box restricts at most this many factors (readable)
MIN_REVERSALS = 3  # fewer reversing points than this: no PRIM box is sought


class SensitivityError(Exception):
    """The folder does not hold a complete, consistent design."""


@dataclass
class DesignRuns:
    """A finished design: its spec, every point, every run, and where each came from."""

    spec: design.DesignConfig
    config: dict
    points: np.ndarray
    runs: pd.DataFrame
    seeds: list[int]
    records: list[dict] = field(default_factory=list)

    @property
    def factors(self) -> dict[str, tuple[float, float]]:
        return design.factors(self.spec)


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(
        (p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def load(sweep_dir: Path) -> DesignRuns:
    """Every job of the design in `sweep_dir`, checked complete and consistent."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise SensitivityError(f"{sweep_dir} is not a folder")
    records, tables, spec, shared = {}, [], None, None
    for folder in job_dirs(sweep_dir):
        record, _ = finished_record(folder)
        if record is None or "design" not in record:
            continue
        config = record["config"]
        job_spec = design.as_spec(config["uncertainty"])
        common = {**config, "uncertainty": {**config["uncertainty"], "job": None}}
        if shared is None:
            spec, shared = job_spec, common
        elif schema.config_hash(common) != schema.config_hash(shared):  # workers may differ
            raise SensitivityError(f"{folder} belongs to another design than {sweep_dir}/0")
        records[job_spec.job] = record
        tables.append(io.read_csv(folder / design_job.RUNS))
    if spec is None:
        raise SensitivityError(f"{sweep_dir} holds no finished design job")
    versions = code_versions({str(job): record for job, record in records.items()})
    if len(versions) > 1:  # analysing after a code change is fine; mixing two codes is not
        listed = "; ".join(f"{v}: jobs {', '.join(jobs)}" for v, jobs in versions.items())
        raise SensitivityError(
            f"{sweep_dir}: the jobs ran {len(versions)} versions of the code ({listed}); "
            "rerun the design's command with --fresh to recompute them all"
        )
    missing = [str(j) for j in range(spec.jobs) if j not in records]
    if missing:
        raise SensitivityError(
            f"{sweep_dir}: jobs {', '.join(missing)} of {spec.jobs} are not finished; "
            "rerun the same command to complete them"
        )
    points = design.sample(spec)
    runs = pd.concat(tables, ignore_index=True).sort_values(["point", "arm", "replicate"])
    runs = runs.reset_index(drop=True)
    names = list(design.factors(spec))
    recorded = runs.drop_duplicates("point").set_index("point")[names].sort_index()
    if len(recorded) != len(points) or not np.allclose(recorded.to_numpy(), points, rtol=1e-12):
        raise SensitivityError(f"{sweep_dir}: the recorded points differ from the design's")
    seeds = records[0]["seeds"]
    return DesignRuns(spec, shared, points, runs, seeds, [records[j] for j in sorted(records)])


# --- per point: outcomes and paired effects with their seed CIs --------------------------------


def point_table(d: DesignRuns) -> pd.DataFrame:
    """One row per output and point: `lever` ('' for the outcome itself), `outcome`, `point`,
    the seed mean, its Student-t CI over seeds and n (the seeds)."""
    frames = []
    base = d.runs[d.runs["arm"] == design.BASE_ARM]
    for outcome in design.outcomes(d.spec):
        values = base.pivot(index="point", columns="replicate", values=outcome)
        frames.append(_seed_summary(values, "", outcome))
        for c in d.spec.contrasts:
            high = d.runs[d.runs["arm"] == f"{c.key}:high"]
            low = d.runs[d.runs["arm"] == f"{c.key}:low"]
            diff = high.pivot(index="point", columns="replicate", values=outcome) - low.pivot(
                index="point", columns="replicate", values=outcome
            )
            frames.append(_seed_summary(diff, c.key, outcome))
    return pd.concat(frames, ignore_index=True)


def _seed_summary(values: pd.DataFrame, lever: str, outcome: str) -> pd.DataFrame:
    """Mean and Student-t CI over seeds (columns) at each point (rows).

    Student's t rather than the bootstrap: a point has few seeds (a bootstrap interval is too
    narrow under about 20) and thousands of points are summarised at once.
    """
    x = values.to_numpy(dtype=float)
    n = np.sum(~np.isnan(x), axis=1)
    mean = np.nanmean(x, axis=1)
    sd = np.nanstd(x, axis=1, ddof=1) if x.shape[1] > 1 else np.full(len(x), np.nan)
    half = scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return pd.DataFrame(
        {
            "lever": lever,
            "outcome": outcome,
            "point": values.index.to_numpy(),
            "mean": mean,
            "low": mean - half,
            "high": mean + half,
            "n": n,
        }
    )


def outputs(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (lever, outcome) pairs of a point table, in order."""
    return list(dict.fromkeys(zip(table["lever"], table["outcome"], strict=True)))


def series(table: pd.DataFrame, lever: str, outcome: str) -> np.ndarray:
    rows = table[(table["lever"] == lever) & (table["outcome"] == outcome)]
    return rows.sort_values("point")["mean"].to_numpy()


# --- indices --------------------------------------------------------------------------------


def elementary_effects(d: DesignRuns, y: np.ndarray) -> np.ndarray:
    """Morris elementary effects, shape (trajectories, factors), per unit of normalised range."""
    k = len(d.factors)
    bounds = np.array(list(d.factors.values()), dtype=float)
    scaled = (d.points - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    n_traj = len(d.points) // (k + 1)
    effects = np.empty((n_traj, k))
    for t in range(n_traj):
        rows = slice(t * (k + 1), (t + 1) * (k + 1))
        x, out = scaled[rows], y[rows]
        step = np.diff(x, axis=0)
        moved = np.argmax(np.abs(step), axis=1)
        delta = step[np.arange(k), moved]
        effects[t, moved] = np.diff(out) / delta
    return effects


def morris_indices(d: DesignRuns, y: np.ndarray) -> pd.DataFrame:
    """mu, mu* and sigma per factor, each with a percentile bootstrap CI over trajectories."""
    ee = elementary_effects(d, y)

    def stats(e):
        return e.mean(axis=0), np.abs(e).mean(axis=0), e.std(axis=0, ddof=1)

    estimates = stats(ee)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = [stats(ee[rng.integers(0, len(ee), len(ee))]) for _ in range(N_BOOTSTRAP)]
    tail = 100 * (1 - CONFIDENCE) / 2
    out = {"factor": list(d.factors)}
    for i, name in enumerate(("mu", "mu_star", "sigma")):
        sample = np.array([draw[i] for draw in draws])
        out[name] = estimates[i]
        out[f"{name}_low"] = np.nanpercentile(sample, tail, axis=0)
        out[f"{name}_high"] = np.nanpercentile(sample, 100 - tail, axis=0)
    return pd.DataFrame(out)


def sobol_indices(d: DesignRuns, y: np.ndarray) -> pd.DataFrame:
    """First-order and total Sobol indices with SALib's bootstrap CIs."""
    from SALib.analyze import sobol

    result = sobol.analyze(
        design.problem(d.spec),
        y,
        calc_second_order=False,
        num_resamples=N_BOOTSTRAP,
        conf_level=CONFIDENCE,
        seed=BOOTSTRAP_SEED,
    )
    out = {"factor": list(d.factors)}
    for name in ("S1", "ST"):
        out[name] = result[name]
        out[f"{name}_low"] = result[name] - result[f"{name}_conf"]
        out[f"{name}_high"] = result[name] + result[f"{name}_conf"]
    return pd.DataFrame(out)


def indices(d: DesignRuns, table: pd.DataFrame) -> pd.DataFrame:
    """The method's indices for every output (empty for a Latin hypercube)."""
    compute = {"morris": morris_indices, "sobol": sobol_indices}.get(d.spec.method)
    if compute is None:
        return pd.DataFrame()
    frames = []
    for lever, outcome in outputs(table):
        frame = compute(d, series(table, lever, outcome))
        frame.insert(0, "outcome", outcome)
        frame.insert(0, "lever", lever)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --- robustness of the levers' claimed signs ------------------------------------------------


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval of a share (Wilson 1927)."""
    if n == 0:
        return math.nan, math.nan
    z = scipy_stats.norm.ppf(0.5 + CONFIDENCE / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def claimed_sign(d: DesignRuns, lever: str, outcome: str, mean: np.ndarray) -> tuple[int, str]:
    """The sign the reports claim (the design's `claims`), else the sign of the mean effect."""
    contrast = next(c for c in d.spec.contrasts if c.key == lever)
    if outcome in contrast.claims:
        return design.SIGNS[contrast.claims[outcome]], "claimed"
    return (1 if np.mean(mean) >= 0 else -1), "sign of the mean"


def robustness(d: DesignRuns, table: pd.DataFrame) -> pd.DataFrame:
    """Per lever and outcome: how much of the plausible space agrees with the claimed sign."""
    rows = []
    for lever, outcome in outputs(table):
        if not lever:
            continue
        part = table[(table["lever"] == lever) & (table["outcome"] == outcome)]
        mean, low, high = (part[c].to_numpy() for c in ("mean", "low", "high"))
        sign, basis = claimed_sign(d, lever, outcome, mean)
        agrees = np.sign(mean) == sign
        significant_agree = (low > 0) if sign > 0 else (high < 0)
        significant_other = (high < 0) if sign > 0 else (low > 0)
        n = len(mean)
        ci = wilson(int(agrees.sum()), n)
        q = np.quantile(mean, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append(
            {
                "lever": lever,
                "outcome": outcome,
                "sign": "positive" if sign > 0 else "negative",
                "basis": basis,
                "points": n,
                "seeds": int(part["n"].min()),
                "share_with_sign": agrees.mean(),
                "share_low": ci[0],
                "share_high": ci[1],
                "significant_with_sign": significant_agree.mean(),
                "not_distinguished_from_0": 1 - significant_agree.mean() - significant_other.mean(),
                "significant_other_sign": significant_other.mean(),
                "mean_effect": mean.mean(),
                "q05": q[0],
                "q25": q[1],
                "median": q[2],
                "q75": q[3],
                "q95": q[4],
            }
        )
    return pd.DataFrame(rows)


# --- scenario discovery: where does an effect reverse? ---------------------------------------


def prim_box(d: DesignRuns, reversed_: np.ndarray) -> dict | None:
    """PRIM's box around the points where the effect reverses, or None when there is none.

    The reported box is the one on PRIM's peeling trajectory, among those restricting at most
    `PRIM_MAX_RESTRICTED` factors, with the largest coverage x density: peeling trades coverage
    for density, and this product weighs both alike.
    """
    logging.getLogger("EMA").setLevel(logging.WARNING)
    x = pd.DataFrame(d.points, columns=list(d.factors))
    with warnings.catch_warnings():  # EMA Workbench's own deprecation warnings
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        finder = prim.Prim(x, reversed_.astype(bool), threshold=PRIM_THRESHOLD)
        box = finder.find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    simple = trajectory[
        (trajectory["res_dim"] > 0) & (trajectory["res_dim"] <= PRIM_MAX_RESTRICTED)
    ]
    if simple.empty:
        return None
    chosen = int((simple["coverage"] * simple["density"]).idxmax())
    lims = box.box_lims[chosen]
    limits = {}
    for name in d.factors:  # restricted: narrower than the sampled points' range
        lower, upper = float(lims[name].iloc[0]), float(lims[name].iloc[1])
        lo, hi = float(finder.box_init[name].iloc[0]), float(finder.box_init[name].iloc[1])
        if lower > lo or upper < hi:
            limits[name] = (lower, upper)
    row = trajectory.iloc[chosen]
    return {
        "trajectory": trajectory[["coverage", "density", "mass", "res_dim"]],
        "chosen": chosen,
        "coverage": float(row["coverage"]),
        "density": float(row["density"]),
        "mass": float(row["mass"]),
        "limits": limits,
    }


def reversals(d: DesignRuns, table: pd.DataFrame, robust: pd.DataFrame) -> dict:
    """PRIM boxes for every lever and outcome whose effect reverses somewhere.

    A point reverses when its seed CI lies wholly on the other side of 0 from the claimed sign:
    a sign flip within the seed noise is "noisy", not a reversal, and would blur the boxes.
    """
    boxes = {}
    for r in robust.itertuples():
        part = table[(table["lever"] == r.lever) & (table["outcome"] == r.outcome)]
        part = part.sort_values("point")
        low, high = part["low"].to_numpy(), part["high"].to_numpy()
        reversed_ = (high < 0) if r.sign == "positive" else (low > 0)
        if MIN_REVERSALS <= reversed_.sum() <= len(part) - MIN_REVERSALS:
            found = prim_box(d, reversed_)
            if found is not None:
                found["base_rate"] = float(reversed_.mean())
                boxes[(r.lever, r.outcome)] = found
    return boxes


def prim_table(boxes: dict) -> pd.DataFrame:
    rows = []
    for (lever, outcome), box in boxes.items():
        for name, (lower, upper) in box["limits"].items():
            rows.append(
                {
                    "lever": lever,
                    "outcome": outcome,
                    "reversing_share": box["base_rate"],
                    "coverage": box["coverage"],
                    "density": box["density"],
                    "mass": box["mass"],
                    "factor": name,
                    "lower": lower,
                    "upper": upper,
                }
            )
    return pd.DataFrame(rows)


# --- the whole analysis ----------------------------------------------------------------------


@dataclass
class Analysis:
    design: DesignRuns
    points: pd.DataFrame
    indices: pd.DataFrame
    robustness: pd.DataFrame
    boxes: dict


def analyse(sweep_dir: Path) -> Analysis:
    d = load(sweep_dir)
    table = point_table(d)
    robust = robustness(d, table) if d.spec.contrasts else pd.DataFrame()
    boxes = reversals(d, table, robust) if len(robust) else {}
    return Analysis(d, table, indices(d, table), robust, boxes)
