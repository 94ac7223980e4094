"""Invariants under random levers: constant population, shares in [0, 1], no NaN."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import ResearchModel

share = st.floats(0.0, 1.0)
levers = st.fixed_dictionaries(
    {
        "publication_weight": share,
        "evaluation_window_years": st.floats(0.25, 8.0),
        "failure_tolerance": share,
        "oversight.intensity": share,
        "export_controls.enabled": st.booleans(),
        "export_controls.start_year": st.floats(2015.0, 2020.0),
        "severity": share,
        "self_reliance_funding": st.floats(0.0, 3.0),
        "guanxi.weight": st.floats(0.0, 5.0),
        "technocrat_share": share,
        "merged_share": share,
        "exit_per_year": st.floats(0.0, 0.5),
        "imitation_per_year": share,
        "funding_steepness": st.floats(0.0, 5.0),
        "ability_sigma": st.floats(0.0, 3.0),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levers=levers, seed=st.integers(0, 2**32 - 1))
def test_state_stays_valid_under_any_levers(levers, seed):
    model = ResearchModel(seed=seed, n_researchers=120, n_institutions=7, years=4, **levers)
    model.run()
    r = model.researchers
    for name in ("exploratory_share", "ties"):
        values = getattr(r, name)
        assert values.shape == (120,)
        assert ((values >= 0) & (values <= 1)).all(), name
    for name in ("funding", "ability", "score", "papers", "impact", "project_progress"):
        assert np.isfinite(getattr(r, name)).all(), name
    assert r.funding.mean() == np.float64(r.funding.mean())
    assert np.unique(r.person_id).size == 120  # one holder per post
    ts = model.timeseries()
    assert len(ts) == 16
    assert not ts.isna().any().any()
    share_columns = [c for c in ts if c.endswith("_share")]
    assert ((ts[share_columns] >= 0) & (ts[share_columns] <= 1)).all().all()
    assert (ts["breakthroughs"] >= 0).all() and (ts["flops"] >= 0).all()
    assert ts["funding_gini"].between(0, 1).all()
    assert ts["allocation_efficiency"].between(-1, 1).all()
    metrics = model.run_metrics()
    assert all(np.isfinite(v) for v in metrics.values())
