"""A weighted ensemble (the calibration's posterior.csv) is resampled by weight, the same way
every time: a parameter set appears in proportion to its weight."""

import numpy as np
import pandas as pd
import pytest

from experiments.engine import design
from sim.params import ParameterError

POSTERIOR = pd.DataFrame(
    {
        "point": [10, 11, 12, 13],
        "weight": [0.5, 0.3, 0.2, 0.0],
        "guanxi.weight": [0.3, 1.2, 2.0, 2.9],
        "distance": [0.1, 0.2, 0.3, 0.4],
    }
)


def test_systematic_resampling_follows_the_weights():
    rows = design.systematic_resample(np.array([0.5, 0.3, 0.2, 0.0]), 10)
    assert rows.tolist() == [0] * 5 + [1] * 3 + [2] * 2
    many = design.systematic_resample(np.array([1.0, 2.0, 7.0]), 1000)
    assert np.bincount(many).tolist() == [100, 200, 700]
    with pytest.raises(ValueError):
        design.systematic_resample(np.array([0.0, 0.0]), 5)


def test_a_weighted_ensemble_is_resampled_to_its_size(tmp_path):
    path = tmp_path / "posterior.csv"
    POSTERIOR.to_csv(path, index=False)
    spec = design.check(design.DesignConfig(method="ensemble", ensemble=str(path)))
    values = design.sample(spec)[:, 0]
    assert len(values) == 50 and values.tolist() == sorted(values.tolist())
    assert [np.sum(values == v) for v in (0.3, 1.2, 2.0, 2.9)] == [25, 15, 10, 0]
    small = design.DesignConfig(method="ensemble", ensemble=str(path), ensemble_size=4)
    assert design.sample(design.check(small))[:, 0].tolist() == [0.3, 0.3, 1.2, 2.0]
    with pytest.raises(ParameterError, match="ensemble_size = 0 must be a whole number >= 1"):
        design.check(design.DesignConfig(method="ensemble", ensemble=str(path), ensemble_size=0))
    POSTERIOR.assign(weight=[0.5, -0.1, 0.3, 0.3]).to_csv(path, index=False)
    with pytest.raises(ParameterError, match="weight column"):
        design.check(design.DesignConfig(method="ensemble", ensemble=str(path)))


def test_equal_weights_take_the_rows_at_even_steps(tmp_path):
    path = tmp_path / "posterior.csv"
    POSTERIOR.to_csv(path, index=False)
    spec = design.DesignConfig(
        method="ensemble", ensemble=str(path), ensemble_size=2, ensemble_weights="equal"
    )
    assert design.sample(design.check(spec))[:, 0].tolist() == [1.2, 2.9]  # rows 1 and 3
    with pytest.raises(ParameterError, match="ensemble_weights = 'odd'; allowed: posterior, equal"):
        design.check(
            design.DesignConfig(method="ensemble", ensemble=str(path), ensemble_weights="odd")
        )
