"""The identifiability analysis finds what a known linear map pins, and its command writes it."""

import json

import numpy as np
import pandas as pd

from experiments.analysis import identifiability as ident
from experiments.studies.calibration import identifiability

RANGES = {"a": (0.0, 2.0), "b": (10.0, 20.0), "c": (0.0, 1.0)}
TOLERANCES = {"reads_a": 0.5, "reads_b": 0.1}


def synthetic_points(points: int = 200, seeds: int = 3) -> pd.DataFrame:
    """Targets that read one parameter each (reads_a = a, reads_b = 0.02 b); c moves nothing."""
    rng = np.random.default_rng(0)
    rows = []
    for point in range(points):
        x = {k: rng.uniform(lo, hi) for k, (lo, hi) in RANGES.items()}
        for seed in range(seeds):
            noise = rng.normal(0, 0.01, 2)
            rows.append(
                {"point": point, "replicate": seed, **x}
                | {"reads_a": x["a"] + noise[0], "reads_b": 0.02 * x["b"] + noise[1]}
            )
    return pd.DataFrame(rows)


def test_the_jacobian_and_the_unpinned_direction_are_recovered():
    means = ident.point_means(synthetic_points(), list(RANGES), list(TOLERANCES))
    j, r2 = ident.jacobian(means, RANGES, TOLERANCES)
    # a crosses 2 units = 4 tolerances of reads_a; b crosses 10 units = 0.2 = 2 tolerances
    assert np.allclose(j.loc["reads_a"], [4.0, 0.0, 0.0], atol=0.02)
    assert np.allclose(j.loc["reads_b"], [0.0, 2.0, 0.0], atol=0.02)
    assert (r2 > 0.99).all()
    assert ident.pinned_by(j) == {"reads_a": ["a"], "reads_b": ["b"]}
    directions = ident.directions(j)
    assert list(directions["pinned"]) == [True, True, False]
    assert abs(directions.loc[2, "c"]) > 0.999  # what no target pins: c alone


def test_the_command_reads_a_calibration_folder_and_writes_its_report(tmp_path):
    points = synthetic_points(60, 2)
    accepted = points.groupby("point")[list(RANGES)].mean().head(10).reset_index()
    points.to_csv(tmp_path / "points.csv", index=False)
    accepted.to_csv(tmp_path / "posterior.csv", index=False)
    targets = [{"id": t, "use": "fit", "tolerance": tol} for t, tol in TOLERANCES.items()]
    targets.append({"id": "held", "use": "held_out", "tolerance": 1.0})
    record = {"status": "complete", "ranges": RANGES, "targets": targets}
    (tmp_path / "provenance.json").write_text(json.dumps(record))
    assert identifiability.main([str(tmp_path)]) == 0
    text = (tmp_path / "identifiability.md").read_text()
    assert "**2 of 3 parameter directions are pinned**" in text
    assert "direction 2 (singular value 0.00): +1.00 c" in text or "-1.00 c" in text
    jac = pd.read_csv(tmp_path / "identifiability_jacobian.csv")
    assert list(jac["target"]) == ["reads_a", "reads_b"]  # held-out targets are not used
    inputs = json.loads((tmp_path / "identifiability.json").read_text())["inputs"]
    assert set(inputs) == {"provenance.json", "points.csv", "posterior.csv"}
