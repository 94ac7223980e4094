"""What the calibration's targets can and cannot pin: a linear map from parameters to targets.

Over the calibration's searched points (a Latin hypercube of the prior box, then one inside the
accepted box), each fitting target's statistic, averaged over the point's seeds and measured in
units of its tolerance, is regressed on the parameters scaled to [0, 1] over their searched
range. The coefficients form a Jacobian J (targets x parameters): moving a parameter across its
whole prior range changes a target by J tolerances. Its singular values say how many parameter
directions the targets pin (a direction whose singular value is below 1 moves no target by a
tolerance across the prior box); with fewer targets than parameters, at least
parameters - targets directions are pinned by none. Each target's R^2 says how far the linear
map describes it. The accepted points' correlations show the trade-offs the fit leaves open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PINS = 1.0  # a singular value at least this: the direction moves some target by a tolerance


def point_means(points: pd.DataFrame, parameters: list[str], targets: list[str]) -> pd.DataFrame:
    """One row per point: its parameters and each target's mean over the point's seeds."""
    return points.groupby("point")[parameters + targets].mean()


def scaled(values: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Parameters as shares of their searched range, 0 at the low end and 1 at the high."""
    return pd.DataFrame(
        {k: (values[k] - lo) / (hi - lo) for k, (lo, hi) in ranges.items()}, index=values.index
    )


def jacobian(
    means: pd.DataFrame, ranges: dict[str, tuple[float, float]], tolerances: dict[str, float]
) -> tuple[pd.DataFrame, pd.Series]:
    """(J: tolerances per whole prior range, targets x parameters; R^2 of each target's fit)."""
    x = scaled(means, ranges).to_numpy()
    design = np.column_stack([np.ones(len(x)), x])
    rows, r2 = {}, {}
    for target, tolerance in tolerances.items():
        y = means[target].to_numpy() / tolerance
        keep = np.isfinite(y)
        coef, *_ = np.linalg.lstsq(design[keep], y[keep], rcond=None)
        residual = y[keep] - design[keep] @ coef
        r2[target] = 1.0 - residual.var() / y[keep].var() if y[keep].var() > 0 else np.nan
        rows[target] = coef[1:]
    return pd.DataFrame(rows, index=list(ranges)).T, pd.Series(r2, name="r2")


def pinned_by(j: pd.DataFrame, share: float = 0.1) -> dict[str, list[str]]:
    """For each target, the parameters that carry at least `share` of its squared sensitivity."""
    out = {}
    for target, row in j.iterrows():
        weight = row**2 / (row**2).sum()
        out[target] = [p for p in weight.sort_values(ascending=False).index if weight[p] >= share]
    return out


def directions(j: pd.DataFrame) -> pd.DataFrame:
    """The singular directions of J, strongest first: singular value, whether some target pins
    it, and its parameter loadings (unit vectors; with fewer targets than parameters the null
    directions come last, with singular value 0)."""
    _, values, vt = np.linalg.svd(j.to_numpy(), full_matrices=True)
    values = np.concatenate([values, np.zeros(vt.shape[0] - len(values))])
    table = pd.DataFrame(vt, columns=j.columns)
    table.insert(0, "pinned", values >= PINS)
    table.insert(0, "singular_value", values)
    table.index.name = "direction"
    return table


def accepted_spread(accepted: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Per parameter: the accepted points' min to max as a share of the searched range."""
    x = scaled(accepted, ranges)
    return pd.DataFrame({"accepted_share_of_prior": x.max() - x.min()})


def accepted_correlations(
    accepted: pd.DataFrame, parameters: list[str], weights: pd.Series | None = None
) -> pd.DataFrame:
    """Pearson correlations between parameters over the accepted points, weighted by their
    posterior weights when given."""
    if weights is None:
        return accepted[parameters].corr()
    c = np.cov(accepted[parameters].to_numpy(float), rowvar=False, aweights=weights.to_numpy(float))
    sd = np.sqrt(np.diag(c))
    return pd.DataFrame(c / np.outer(sd, sd), index=parameters, columns=parameters)
