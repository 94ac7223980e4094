"""Held-out targets stay as they were frozen (configs/calibration/frozen.yaml).

A held-out target tests the model only if it was not adapted to the model after it was set
aside: its definition must equal the latest freeze entry for it, and each entry must equal the
definition in targets.yaml at the commit the entry names.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from experiments.studies.calibration.calibration import definition_digest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = "configs/calibration/targets.yaml"
FROZEN = yaml.safe_load((ROOT / "configs/calibration/frozen.yaml").read_text())["frozen"]
DATA = yaml.safe_load((ROOT / TARGETS).read_text())


def latest_entries() -> dict[str, dict]:
    return {entry["id"]: entry for entry in FROZEN}  # later entries replace earlier ones


@pytest.mark.parametrize("target", [t for t in DATA["targets"] if t["use"] == "held_out"])
def test_every_held_out_target_is_as_frozen(target):
    entry = latest_entries().get(target["id"])
    assert entry is not None, f"held-out target {target['id']} has no entry in frozen.yaml"
    assert definition_digest(DATA, target["id"]) == entry["sha256"], (
        f"held-out target {target['id']} changed since its freeze at {entry['since']}: "
        "add a new entry to frozen.yaml with the commit and why"
    )


def test_a_changed_definition_is_caught():
    target = next(t for t in DATA["targets"] if t["use"] == "held_out")
    before = definition_digest(DATA, target["id"])
    changed = {**DATA, "targets": [{**target, "tolerance": target["tolerance"] * 2}]}
    assert definition_digest(changed, target["id"]) != before
    checked_only = {**DATA, "targets": [{**target, "checked": "read elsewhere"}]}
    assert definition_digest(checked_only, target["id"]) == before  # where it was read: prose


def committed_targets(commit: str) -> dict | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    shown = subprocess.run(
        ["git", "show", f"{commit}:{TARGETS}"], cwd=ROOT, capture_output=True, text=True
    )
    return yaml.safe_load(shown.stdout) if shown.returncode == 0 else None


@pytest.mark.parametrize("entry", FROZEN, ids=[f"{e['id']}@{e['since']}" for e in FROZEN])
def test_each_entry_is_the_definition_at_its_commit(entry):
    data = committed_targets(entry["since"])
    if data is None:
        pytest.skip(f"commit {entry['since']} is not in this checkout's history")
    assert definition_digest(data, entry["id"]) == entry["sha256"]
