"""Spin up once, branch every arm: a branched run equals a run built from scratch, value for value.

Every arm of several named experiments (composed from their YAML, as a sweep would) runs twice
on the same seeds, once built with its own burn-in and once branched from a spin-up shared by
all arms (experiments/engine/spinup.py); their timeseries and run metrics must be identical.
"""

import itertools
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from experiments.engine import schema
from experiments.engine.spinup import SpinUps
from sim import ParameterError, ResearchModel
from sim.model import spin_up_key
from sim.schema import Params

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
EXPERIMENTS = [
    "headline",
    "export_shock",
    "evaluation_window",
    "technocrat_channels",
    "incentive_presets",
    "scenarios",
]
SMALL = ["population.n_researchers=150", "population.n_institutions=6", "run.years=8"]
SEEDS = (3, 11)


def arms(name: str) -> list[list[str]]:
    """The overrides of each job of experiment `name`'s sweep (a product of its values)."""
    spec = yaml.safe_load((CONFIGS / "experiment" / f"{name}.yaml").read_text())
    swept = spec["hydra"]["sweeper"]["params"]
    values = [[f"{key}={v}" for v in str(vs).split(",")] for key, vs in swept.items()]
    return [list(combo) for combo in itertools.product(*values)]


@pytest.fixture(scope="module")
def arm_params() -> dict[str, list[Params]]:
    schema.register()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return {
            name: [
                schema.to_params(compose("config", [f"experiment={name}", *SMALL, *arm]))[0]
                for arm in arms(name)
            ]
            for name in EXPERIMENTS
        }


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_branched_arms_equal_their_own_burn_in(arm_params, name):
    spin_ups = SpinUps()
    for params, seed in itertools.product(arm_params[name], SEEDS):
        alone = ResearchModel(params=params, seed=seed).run()
        branched = spin_ups.model(params, seed).run()
        assert branched.timeseries().equals(alone.timeseries()), (name, seed, params)
        assert str(branched.run_metrics()) == str(alone.run_metrics())  # NaN-safe, exact
    # one burn-in per seed and structure (the longest window; technocrat_channels' switches)
    keys = {spin_up_key(p, s) for p, s in itertools.product(arm_params[name], SEEDS)}
    assert spin_ups.built == len(keys) < len(SEEDS) * len(arm_params[name])


def test_branch_from_another_status_quo_equals_its_own_run():
    status_quo = Params()
    status_quo.guanxi.weight = 0.2
    run = {"population.n_researchers": 150, "run.years": 5.0, "guanxi.weight": 1.0}
    base = ResearchModel.spun_up(seed=5, status_quo=status_quo, **run)
    alone = ResearchModel(seed=5, status_quo=status_quo, **run).run()
    assert base.branch(**run).run().timeseries().equals(alone.timeseries())


def test_a_branch_with_other_structure_is_refused_and_the_spin_up_is_kept():
    base = ResearchModel.spun_up(seed=1, n_researchers=150)
    with pytest.raises(ParameterError, match="another spin-up"):
        base.branch(n_researchers=150, breakthrough_threshold=30.0)
    first = base.branch(n_researchers=150, publication_weight=1.0).run()
    second = base.branch(n_researchers=150, publication_weight=1.0).run()
    assert first.timeseries().equals(second.timeseries())  # branching never changes the base
    with pytest.raises(ParameterError, match="spun-up model"):
        first.branch(n_researchers=150)


def test_spin_ups_stay_within_their_budget():
    spin_ups = SpinUps(budget=150 * 1_000 * 2)  # two models of 150 researchers
    small = ResearchModel.spun_up(seed=0, n_researchers=150).p
    for seed in range(4):
        spin_ups.model(small, seed)
    assert len(spin_ups.models) == 2 and spin_ups.built == 4
    spin_ups.model(small, 3)
    assert spin_ups.reused == 1


def test_models_without_a_seed_share_no_spin_up():
    spin_ups = SpinUps()
    params = ResearchModel.spun_up(seed=0, n_researchers=150, years=1.0).p
    with pytest.warns(UserWarning, match="neither reproducible nor paired"):
        first, second = (spin_ups.model(params, None).run() for _ in range(2))
    assert spin_ups.built == 0 and not first.timeseries().equals(second.timeseries())


def test_runs_without_a_burn_in_are_built_as_they_are_and_keep_no_spin_up():
    """Without a burn-in a run starts from its own levers: nothing to share, nothing kept."""
    spin_ups = SpinUps()
    run = {"population.n_researchers": 150, "run.years": 2.0, "run.burn_in_years": 0.0}
    for weight in (0.0, 1.0):
        params = ResearchModel.spun_up(seed=0, **run, publication_weight=weight).p
        alone = ResearchModel(params=params, seed=4).run()
        assert spin_ups.model(params, 4).run().timeseries().equals(alone.timeseries())
    assert spin_ups.built == spin_ups.reused == 0 and not spin_ups.models
