"""Statistics over replicates: means with bootstrap confidence intervals and paired contrasts.

Every estimate carries the n behind it. Intervals are bootstrap intervals over replicates
(`scipy.stats.bootstrap`, BCa by default, percentile when BCa is undefined) drawn from a fixed
random seed, so a report computed twice gives the same numbers.

Arms of a sweep share their seeds (replicate i of every arm uses the same seed: common random
numbers). A paired contrast therefore resamples the per-seed differences between two arms; the
unpaired interval, which resamples each arm on its own, is reported next to it so a reader can
see how much the pairing narrows the interval (`pairing_gain`: unpaired width / paired width;
pairing is worth about `pairing_gain**2` times as many unpaired replicates).

Caveat: with few replicates (under about 20) bootstrap intervals are somewhat too narrow; they
do not use Student's t correction.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
N_RESAMPLES = 9999
BOOTSTRAP_SEED = 20221007  # fixed, so intervals are reproducible (the export-control date)

_SCIPY_TAKES_RNG = "rng" in inspect.signature(scipy_stats.bootstrap).parameters


@dataclass(frozen=True)
class Estimate:
    """A mean with its confidence interval and the number of values behind it."""

    mean: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def ci_width(self) -> float:
        return self.ci_high - self.ci_low


@dataclass(frozen=True)
class Contrast:
    """Mean difference arm - reference over shared seeds, with paired and unpaired intervals."""

    difference: float
    ci_low: float
    ci_high: float
    n_pairs: int
    unpaired_ci_low: float
    unpaired_ci_high: float
    n_reference: int
    n_arm: int
    pairing_gain: float  # unpaired CI width / paired CI width; > 1 means pairing helped

    @property
    def excludes_zero(self) -> bool:
        return bool(self.ci_low > 0 or self.ci_high < 0)


def _clean(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]


def _bootstrap_interval(samples: tuple[np.ndarray, ...], statistic, *, paired: bool, **options):
    """Run scipy's bootstrap with BCa, falling back to percentile where BCa is undefined."""
    seed_key = "rng" if _SCIPY_TAKES_RNG else "random_state"
    kwargs = {
        "n_resamples": options.get("n_resamples", N_RESAMPLES),
        "confidence_level": options.get("confidence", CONFIDENCE),
        "paired": paired,
        "vectorized": True,
    }
    for method in ("BCa", "percentile"):
        rng = np.random.default_rng(options.get("seed", BOOTSTRAP_SEED))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa warns on degenerate resamples; we fall back
            result = scipy_stats.bootstrap(
                samples, statistic, method=method, **kwargs, **{seed_key: rng}
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high)
    return float("nan"), float("nan")


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _difference_of_means(reference, arm, axis=-1):
    return np.mean(arm, axis=axis) - np.mean(reference, axis=axis)


def mean_ci(values: Sequence[float], **options) -> Estimate:
    """Mean and bootstrap CI of `values` (NaNs dropped).

    n = 0 gives NaN throughout; n = 1 gives the value with a NaN interval (no spread to resample);
    identical values give a zero-width interval at that value. Options: confidence, n_resamples,
    seed.
    """
    x = _clean(values)
    n = int(x.size)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, float("nan"), float("nan"), 1)
    if np.ptp(x) == 0:
        return Estimate(mean, mean, mean, n)
    low, high = _bootstrap_interval((x,), _mean, paired=False, **options)
    return Estimate(mean, low, high, n)


def unpaired_difference_ci(
    reference: Sequence[float], arm: Sequence[float], **options
) -> tuple[float, float]:
    """CI of mean(arm) - mean(reference) resampling each arm independently (ignores seeds)."""
    a, b = _clean(reference), _clean(arm)
    if a.size < 2 or b.size < 2:
        return float("nan"), float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        d = float(b.mean() - a.mean())
        return d, d
    return _bootstrap_interval((a, b), _difference_of_means, paired=False, **options)


def paired_contrast(reference: pd.Series, arm: pd.Series, **options) -> Contrast:
    """Contrast arm - reference, pairing values on their index (the seed).

    Only seeds present (and finite) in both arms are paired; the unpaired interval uses every
    finite value of each arm.
    """
    ref = pd.Series(reference, dtype=float).dropna()
    other = pd.Series(arm, dtype=float).dropna()
    if ref.index.has_duplicates or other.index.has_duplicates:
        raise ValueError("paired_contrast needs one value per seed in each arm")
    shared = ref.index.intersection(other.index)
    differences = mean_ci(other.loc[shared].to_numpy() - ref.loc[shared].to_numpy(), **options)
    unpaired_low, unpaired_high = unpaired_difference_ci(
        ref.to_numpy(), other.to_numpy(), **options
    )
    paired_width = differences.ci_width
    unpaired_width = unpaired_high - unpaired_low
    if paired_width > 0:
        gain = unpaired_width / paired_width
    elif paired_width == 0 and unpaired_width > 0:
        gain = float("inf")
    else:
        gain = float("nan")
    return Contrast(
        difference=differences.mean,
        ci_low=differences.ci_low,
        ci_high=differences.ci_high,
        n_pairs=differences.n,
        unpaired_ci_low=unpaired_low,
        unpaired_ci_high=unpaired_high,
        n_reference=int(ref.size),
        n_arm=int(other.size),
        pairing_gain=float(gain),
    )


# --- tidy tables over a sweep ----------------------------------------------------------------


def arms(replicates: pd.DataFrame, levers: Sequence[str]) -> list[tuple]:
    """The distinct lever settings (arms) present, in sorted order."""
    if not levers:
        return [()]
    keys = replicates[list(levers)].drop_duplicates()
    keys = keys.sort_values(list(levers), kind="stable")
    return [tuple(row) for row in keys.itertuples(index=False)]


def select(df: pd.DataFrame, levers: Sequence[str], arm: tuple) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for lever, value in zip(levers, arm, strict=True):
        mask &= (df[lever] == value).to_numpy()
    return df[mask]


def summarize(
    replicates: pd.DataFrame, levers: Sequence[str], metrics: Sequence[str], **options
) -> pd.DataFrame:
    """One row per arm and metric: the levers, metric, n, mean, ci_low, ci_high."""
    rows = []
    for arm in arms(replicates, levers):
        subset = select(replicates, levers, arm)
        for metric in metrics:
            estimate = mean_ci(subset[metric].to_numpy(), **options)
            rows.append(
                {**dict(zip(levers, arm, strict=True)), "metric": metric, **asdict(estimate)}
            )
    return pd.DataFrame(rows, columns=[*levers, "metric", "mean", "ci_low", "ci_high", "n"])


def default_reference(replicates: pd.DataFrame, levers: Sequence[str], defaults: dict) -> tuple:
    """The reference arm: each lever at its model default if swept, else at its first value."""
    present = arms(replicates, levers)
    chosen = []
    for i, lever in enumerate(levers):
        values = sorted({arm[i] for arm in present})
        default = defaults.get(lever)
        chosen.append(default if default in values else values[0])
    arm = tuple(chosen)
    return arm if arm in present else present[0]


def contrasts(
    replicates: pd.DataFrame,
    levers: Sequence[str],
    metrics: Sequence[str],
    reference: tuple,
    seed_column: str = "seed",
    **options,
) -> pd.DataFrame:
    """Every other arm against `reference`, paired on `seed_column`: one row per arm and metric."""
    base = select(replicates, levers, reference).set_index(seed_column)
    rows = []
    for arm in arms(replicates, levers):
        if arm == tuple(reference):
            continue
        other = select(replicates, levers, arm).set_index(seed_column)
        for metric in metrics:
            contrast = paired_contrast(base[metric], other[metric], **options)
            rows.append(
                {**dict(zip(levers, arm, strict=True)), "metric": metric, **asdict(contrast)}
            )
    columns = [*levers, "metric", *Contrast.__dataclass_fields__]
    return pd.DataFrame(rows, columns=columns)


# --- time series -----------------------------------------------------------------------------


def binned(timeseries: pd.DataFrame, bin_years: float | None) -> pd.DataFrame:
    """Average quarterly rows into calendar bins of `bin_years` (labelled by the bin's centre)."""
    if not bin_years:
        return timeseries.assign(time=timeseries["year"])
    start = np.floor(timeseries["year"] / bin_years) * bin_years
    return timeseries.assign(time=start + bin_years / 2)


def timeseries_bands(
    timeseries: pd.DataFrame,
    by: Sequence[str],
    metric: str,
    bin_years: float | None = 1.0,
    seed_column: str = "seed",
    **options,
) -> pd.DataFrame:
    """Mean and CI of `metric` across replicates at each time, for each combination of `by`.

    Each replicate first averages its steps within a time bin (so a rate stays a rate); the
    bootstrap is then over replicates. Columns: by..., time, n, mean, ci_low, ci_high.
    """
    data = binned(timeseries, bin_years)
    keys = [*by, "time", seed_column]
    per_replicate = data.groupby(keys, sort=True, dropna=False)[metric].mean().reset_index()
    rows = []
    for key, group in per_replicate.groupby([*by, "time"], sort=True, dropna=False):
        estimate = mean_ci(group[metric].to_numpy(), **options)
        rows.append({**dict(zip([*by, "time"], key, strict=True)), **asdict(estimate)})
    return pd.DataFrame(rows, columns=[*by, "time", "mean", "ci_low", "ci_high", "n"])


def paired_timeseries_difference(
    timeseries: pd.DataFrame,
    lever: str,
    treated,
    untreated,
    metric: str,
    by: Sequence[str] = (),
    bin_years: float | None = 1.0,
    seed_column: str = "seed",
    **options,
) -> pd.DataFrame:
    """Per time bin, mean of (treated - untreated) over shared seeds with its bootstrap CI.

    `by` are further columns that must match between the two arms (other levers held equal).
    Columns: by..., time, n (pairs), mean, ci_low, ci_high.
    """
    data = binned(timeseries, bin_years)
    keys = [*by, "time", seed_column]
    mean_of = data.groupby([lever, *keys], sort=True, dropna=False)[metric].mean()
    treated_values = mean_of.xs(treated, level=lever)
    untreated_values = mean_of.xs(untreated, level=lever)
    difference = (treated_values - untreated_values).dropna().rename("difference").reset_index()
    rows = []
    for key, group in difference.groupby([*by, "time"], sort=True, dropna=False):
        estimate = mean_ci(group["difference"].to_numpy(), **options)
        rows.append({**dict(zip([*by, "time"], key, strict=True)), **asdict(estimate)})
    return pd.DataFrame(rows, columns=[*by, "time", "mean", "ci_low", "ci_high", "n"])


# --- the effect of each lever ----------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def lever_effects(
    replicates: pd.DataFrame,
    levers: Sequence[str],
    reference: tuple,
    metrics: Sequence[str],
    seed_column: str = "seed",
    max_contexts: int = 3,
    **options,
) -> list[dict]:
    """Each lever's paired effect: highest against lowest value (numbers, booleans), or each
    category against the reference's (names such as presets or scenarios).

    The other levers sit at the reference arm's values, or at each of their settings in turn
    when there are at most `max_contexts` of them, so interactions show. Settings where the two
    arms are identical (a lever that acts only through another, e.g. self-reliance funding
    without the shock) are listed in `identical_at` of the next effect of that lever instead.
    Each effect: lever, low, high, context (the other levers' values), identical_at,
    contrasts (metric -> Contrast).
    """
    levers, reference = list(levers), tuple(reference)
    present = arms(replicates, levers)
    effects = []
    for i, lever in enumerate(levers):
        values = sorted({arm[i] for arm in present})
        if len(values) < 2:
            continue
        if all(_is_number(v) or isinstance(v, bool | np.bool_) for v in values):
            steps = [(values[0], values[-1])]
        else:
            steps = [(reference[i], v) for v in values if v != reference[i]]
        first = reference[:i] + reference[i + 1 :]
        others = sorted({arm[:i] + arm[i + 1 :] for arm in present} - {first})
        contexts = [first, *others] if len(others) < max_contexts else [first]
        others_names = [lv for lv in levers if lv != lever]
        for low_value, high_value in steps:
            identical_at = []
            for context in contexts:
                low, high = (context[:i] + (v,) + context[i:] for v in (low_value, high_value))
                if low not in present or high not in present:
                    continue
                a = select(replicates, levers, low).set_index(seed_column)
                b = select(replicates, levers, high).set_index(seed_column)
                pair = {m: paired_contrast(a[m], b[m], **options) for m in metrics}
                where = dict(zip(others_names, context, strict=True))
                if all(c.difference == 0 and c.ci_low == c.ci_high for c in pair.values()):
                    identical_at.append(where)
                    continue
                effects.append(
                    {
                        "lever": lever,
                        "low": low_value,
                        "high": high_value,
                        "context": where,
                        "identical_at": identical_at,
                        "contrasts": pair,
                    }
                )
                identical_at = []
    return effects
