"""`python -m experiments.identifiability [CALIBRATION_DIR]`: what the fitting targets pin.

Reads a finished calibration's folder (default results/calibration: its provenance.json,
points.csv and posterior.csv; no model runs) and writes, beside them, identifiability.md (the
report), identifiability_jacobian.csv (tolerances per prior range, with each target's R^2),
identifiability_directions.csv (singular values and loadings) and identifiability.json (the
inputs' checksums and the code's version). The method is in experiments/analysis/identifiability.py.
"""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ...analysis import identifiability as ident
from ...engine import io

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "results" / "calibration"
INPUTS = ("provenance.json", "points.csv", "posterior.csv")
WEAK_FIT = 0.8  # R^2 below which a target's linear sensitivities are only indicative


def load(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    record = io.read_json(folder / "provenance.json")
    if record is None or record.get("status") != "complete":
        raise SystemExit(f"error: {folder} holds no finished calibration (provenance.json)")
    return record, io.read_csv(folder / "points.csv"), io.read_csv(folder / "posterior.csv")


def analyse(record: dict, points: pd.DataFrame, accepted: pd.DataFrame) -> dict:
    ranges = {k: tuple(v) for k, v in record["ranges"].items()}
    fitting = [t for t in record["targets"] if t["use"] == "fit"]
    tolerances = {t["id"]: t["tolerance"] for t in fitting}
    means = ident.point_means(points, list(ranges), list(tolerances))
    j, r2 = ident.jacobian(means, ranges, tolerances)
    return {
        "jacobian": j,
        "r2": r2,
        "pinned_by": ident.pinned_by(j),
        "directions": ident.directions(j),
        "spread": ident.accepted_spread(accepted, ranges),
        "correlations": ident.accepted_correlations(accepted, list(ranges), accepted.get("weight")),
        "points": len(means),
        "accepted": len(accepted),
    }


def fmt(x: float) -> str:
    return f"{x:.2f}"


def table(frame: pd.DataFrame, index_name: str) -> str:
    head = f"| {index_name} | " + " | ".join(frame.columns) + " |"
    rule = "|---" * (len(frame.columns) + 1) + "|"
    rows = [
        f"| {i} | " + " | ".join(v if isinstance(v, str) else fmt(v) for v in row) + " |"
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    return "\n".join([head, rule, *rows])


def report(result: dict, command: str) -> str:
    j, directions = result["jacobian"], result["directions"]
    pinned = int(directions["pinned"].sum())
    loose = directions[~directions["pinned"]]
    lines = [
        "# Identifiability of the calibration",
        "",
        f"Regenerate with `{command}` (no model runs). Method: "
        "experiments/analysis/identifiability.py. Over the calibration's "
        f"{result['points']} searched points, each fitting target's statistic (mean over the "
        "point's seeds, in tolerances) is regressed on the parameters scaled to their searched "
        "range: an entry is how many tolerances the target moves when the parameter crosses its "
        "whole prior range, the others held.",
        "",
        f"**{pinned} of {len(directions)} parameter directions are pinned** (a singular value of "
        f"at least {ident.PINS:g}: some target moves by a tolerance or more along it across "
        f"the prior box); {len(directions) - pinned} are pinned by no target.",
        "",
        "## Sensitivity of each target (tolerances per prior range) and its linear fit",
        "",
        table(j.assign(r2=result["r2"]), "target"),
        "",
        *(
            [
                "A linear map describes "
                + ", ".join(f"{t} (R^2 {v:.2f})" for t, v in weak.items())
                + " poorly: their sensitivities are averages over the prior box, and what pins "
                "them is indicative only.",
                "",
            ]
            if len(weak := result["r2"][result["r2"] < WEAK_FIT])
            else []
        ),
        "## Which parameters each target pins (at least 10% of its squared sensitivity)",
        "",
        *[f"- {t}: {', '.join(ps)}" for t, ps in result["pinned_by"].items()],
        "",
        "## Singular directions, strongest first",
        "",
        table(directions.drop(columns="pinned"), "direction"),
        "",
        "## Directions no target pins",
        "",
    ]
    for i, row in loose.iterrows():
        loads = row.drop(["singular_value", "pinned"]).astype(float)
        top = loads.abs().sort_values(ascending=False).index[:3]
        parts = ", ".join(f"{loads[k]:+.2f} {k}" for k in top)
        lines.append(f"- direction {i} (singular value {row['singular_value']:.2f}): {parts}")
    lines += [
        "",
        f"## The posterior ({result['accepted']} particles of the last generation)",
        "",
        "Share of the searched range each parameter's particles span, and the correlations "
        "between parameters over them, weighted by their posterior weights (a strong "
        "correlation is a trade-off the targets leave open):",
        "",
        table(result["spread"], "parameter"),
        "",
        table(result["correlations"], "parameter"),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    record, points, accepted = load(args.folder)
    result = analyse(record, points, accepted)
    shown = "" if args.folder == DEFAULT_DIR else f" {args.folder}"
    command = f"python -m experiments.identifiability{shown}"
    io.write_text(args.folder / "identifiability.md", report(result, command))
    io.write_csv(
        args.folder / "identifiability_jacobian.csv",
        result["jacobian"].assign(r2=result["r2"]).rename_axis("target").reset_index(),
    )
    io.write_csv(args.folder / "identifiability_directions.csv", result["directions"].reset_index())
    io.write_json(
        args.folder / "identifiability.json",
        {
            "command": command,
            "inputs": {name: io.sha256(args.folder / name) for name in INPUTS},
            "environment": io.environment(),
            "written": datetime.now(UTC).isoformat(),
        },
    )
    print(f"wrote {args.folder / 'identifiability.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
