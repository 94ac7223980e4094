"""Bad input stops before anything runs, with one line naming the key, value and what is allowed."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from experiments.engine import preflight
from experiments.engine.errors import BadInput, explain

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "experiments.run", *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("argument", "names"),
    [
        ("incentives.foo=1", ["incentives.foo", "publication_weight"]),
        ("+incentives.foo=1", ["incentives.foo", "publication_weight"]),
        ("foo=1", ["'foo'", "incentives"]),
        ("incentives.publication_weight=abc", ["incentives.publication_weight", "'abc'", "number"]),
        ("population.n_researchers=2.5", ["population.n_researchers", "2.5", "whole number"]),
        ("export_controls.enabled=maybe", ["export_controls.enabled", "'maybe'", "true or false"]),
        ("oversight.intensity=1.5", ["oversight.intensity", "1.5", "[0.0, 1.0]"]),
        ("run.replicates=0", ["run.replicates", "0", "[1, "]),
        ("run.bogus=1", ["run.bogus", "replicates"]),
        ("incentives=nope", ["incentives", "'nope'", "hhmi_like"]),
        ("experiment=nope", ["experiment", "'nope'", "headline"]),
        ("timeline=[{year:2020,key:oversight.intensity,value:3}]", ["oversight.intensity", "3"]),
        ("timeline=[{year:2020,key:oversight.nope,value:3}]", ["oversight.nope", "intensity"]),
        ("timeline=[{year:2020,key:oversight.intensity,valu:1}]", ["'valu'", "year, key, value"]),
        ("oversight.intensity=0,0.5", ["-m"]),
    ],
)
def test_bad_input_gives_one_line_naming_key_value_and_what_is_allowed(argument, names):
    with pytest.raises(BadInput) as caught:
        preflight.check([argument])
    message = str(caught.value)
    assert "\n" not in message
    for name in names:
        assert name in message, message


def test_a_bad_value_anywhere_in_a_sweep_stops_it_before_any_job():
    with pytest.raises(BadInput, match="oversight.intensity = 2.0 is out of range"):
        preflight.check(["-m", "experiment=headline", "oversight.intensity=0,1,2"])


def test_preflight_leaves_flags_it_does_not_know_to_hydra():
    assert preflight.check(["--cfg", "job"]) is None
    assert preflight.check(["--help"]) is None


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (
            ["incentives.publication_wieght=0.5"],
            ["incentives.publication_wieght", "publication_weight"],
        ),
        (["oversight.intensity=high"], ["oversight.intensity", "'high'", "number"]),
        (["oversight.intensity=1.5"], ["oversight.intensity", "1.5", "[0.0, 1.0]"]),
        (["-m", "oversight.intensity=0,0.5,9"], ["oversight.intensity", "9", "[0.0, 1.0]"]),
    ],
)
def test_the_command_exits_non_zero_with_one_line_and_runs_nothing(tmp_path, arguments, names):
    out = tmp_path / "out"
    done = run_cli(*arguments, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in done.stderr
    for name in names:
        assert name in lines[0]
    assert not out.exists()


def test_a_broken_yaml_file_is_named_with_its_line():
    try:
        yaml.safe_load("publication_weight: [0.3\n")
    except yaml.YAMLError as err:
        message = explain(err)
    assert message.startswith("<unicode string>, line 2:") and "\n" not in message
