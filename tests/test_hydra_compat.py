"""Hydra's private API, as used by experiments/hydra_compat.py, still works in this Hydra.

Each test names the installed Hydra version when it fails, so that an upgrade that moves or
changes a private function says at once which shim to fix."""

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper

from experiments.engine import hydra_compat, schema

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def shim(name: str):
    """Fail with a message naming the shim and the installed Hydra version."""
    try:
        yield
    except Exception as err:  # any break of a private API
        pytest.fail(
            f"Hydra {hydra_compat.HYDRA_VERSION} broke experiments/hydra_compat.{name}: "
            f"{type(err).__name__}: {err}"
        )


def parse(*lines: str):
    return OverridesParser.create().parse_overrides(list(lines))


def test_split_sweep_numbers_jobs_as_the_basic_sweeper_does():
    with shim("split_sweep"):
        jobs = hydra_compat.split_sweep(parse("a=1,2", "b=x,y", "c=3"))
    assert jobs == [
        ["a=1", "b=x", "c=3"],
        ["a=1", "b=y", "c=3"],
        ["a=2", "b=x", "c=3"],
        ["a=2", "b=y", "c=3"],
    ], f"Hydra {hydra_compat.HYDRA_VERSION} numbers sweep jobs differently"


def test_sweep_values_gives_a_shuffled_sweep_in_its_given_order():
    with shim("sweep_values"):
        values = [
            hydra_compat.sweep_values(o) for o in parse("a=shuffle(1,x,3)", "b=shuffle(range(0,3))")
        ]
    assert values == [["1", "x", "3"], ["0", "1", "2"]]


def test_apply_overrides_checks_keys_and_converts_values():
    schema.register()
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("config")
        with shim("apply_overrides"):
            hydra_compat.apply_overrides(parse("oversight.intensity=1"), cfg)
        assert cfg.oversight.intensity == 1.0 and isinstance(cfg.oversight.intensity, float)
        with pytest.raises(Exception, match="nope"):
            hydra_compat.apply_overrides(parse("oversight.nope=1"), cfg)


def test_group_exists_tells_groups_from_keys():
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        with shim("group_exists"):
            assert hydra_compat.group_exists("incentives")
            assert not hydra_compat.group_exists("incentives.publication_weight")


def test_single_composition_replaces_the_check_of_the_class_hydra_instantiates():
    with shim("basic_sweeper_class"):
        sweeper = hydra_compat.basic_sweeper_class()
    assert issubclass(sweeper, Sweeper) and sweeper.__name__ == "BasicSweeper"
    assert "validate_batch_is_legal" not in sweeper.__dict__, (
        f"Hydra {hydra_compat.HYDRA_VERSION}'s BasicSweeper defines validate_batch_is_legal "
        "itself: check that hydra_compat.single_composition still restores it"
    )
    before = sweeper.validate_batch_is_legal
    with shim("single_composition"), hydra_compat.single_composition():
        assert hydra_compat.basic_sweeper_class().validate_batch_is_legal(None, [["a=1"]]) is None
    assert sweeper.validate_batch_is_legal is before
    assert "validate_batch_is_legal" in sweeper.sweep.__code__.co_names, (
        f"Hydra {hydra_compat.HYDRA_VERSION}'s BasicSweeper.sweep no longer calls "
        "validate_batch_is_legal: hydra_compat.single_composition has no effect"
    )


COUNTED_RUN = """
import runpy, sys
from hydra._internal.config_loader_impl import ConfigLoaderImpl
original, calls = ConfigLoaderImpl.load_sweep_config, []

def counted(self, *args, **kwargs):
    calls.append(1)
    return original(self, *args, **kwargs)

ConfigLoaderImpl.load_sweep_config = counted
sys.argv = ["run.py", *sys.argv[1:]]
try:
    runpy.run_module("experiments.run", run_name="__main__")
finally:
    print("compositions:", len(calls))
"""


def test_a_sweep_composes_each_job_once(tmp_path):
    """End to end: Hydra composes each job for its launch only (the check composed it before)."""
    arguments = [
        "-m",
        "oversight.intensity=0,1",
        "run.replicates=1",
        "run.years=0.25",
        "run.burn_in_years=1",
    ]
    arguments += ["population.n_researchers=10", f"hydra.sweep.dir={tmp_path}"]
    done = subprocess.run(
        [sys.executable, "-c", COUNTED_RUN, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count = int(done.stdout.split("compositions:")[1])
    assert count == 2, f"Hydra {hydra_compat.HYDRA_VERSION} composed the 2 jobs {count} times"
