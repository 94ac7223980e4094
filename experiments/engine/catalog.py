"""The named experiments (`configs/experiment/NAME.yaml`) and the project's own output folders.

A study runs a named experiment by its name: this module checks the name and the overrides
against the configs, and deletes earlier job folders (`--fresh`) only inside the project's own
output folders (`outputs/`, `results/`, `multirun/`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

from .errors import BadInput
from .preflight import prepare

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = PROJECT_ROOT / "configs" / "experiment"
OWN_OUTPUT_FOLDERS = ("outputs", "results", "multirun")  # --fresh deletes nothing elsewhere


class UsageError(ValueError):
    """A bad command line: the message is one line for the user."""


def known_experiments() -> list[str]:
    return sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))


def planned_levers(name: str) -> set[str]:
    """The levers the experiment's config sweeps (its `hydra.sweeper.params`)."""
    config = OmegaConf.load(EXPERIMENTS / f"{name}.yaml")
    return set(OmegaConf.select(config, "hydra.sweeper.params", default=None) or {})


def own_output(path: Path) -> bool:
    """Whether `path` lies inside one of the project's own output folders."""
    resolved = (PROJECT_ROOT / path).resolve()
    return any(
        resolved.is_relative_to(PROJECT_ROOT / folder) and resolved != PROJECT_ROOT / folder
        for folder in OWN_OUTPUT_FOLDERS
    )


def shown(path: Path) -> str:
    """`path` as the user can open it from where they are."""
    absolute = (PROJECT_ROOT / path).resolve()
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive (Windows)
        return str(absolute)
    return str(absolute) if relative.startswith("..") else relative


def check_experiment(name: str, overrides: list[str]) -> None:
    """UsageError unless NAME is an experiment and no override chooses another one."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name not in known_experiments():
        raise UsageError(f"no experiment '{name}'; known: {', '.join(known_experiments())}")
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "experiment" and value != name:
            raise UsageError(
                f"{override} conflicts with the experiment {name}; run "
                f"'{value or 'NAME'}' as its own experiment instead"
            )


def delete_runs(name: str, runs: Path, overrides: list[str]) -> None:
    """--fresh: delete the job folders `runs` of experiment NAME, once the sweep with these
    overrides is known to start; UsageError outside the project's own output folders."""
    if not own_output(runs):
        raise UsageError(
            f"--fresh only deletes inside the project's {', '.join(OWN_OUTPUT_FOLDERS)} "
            f"folders; delete {shown(runs)} yourself if you mean it"
        )
    with tempfile.TemporaryDirectory() as empty:  # every check but the folders' (deleted next)
        try:
            prepare(["-m", f"experiment={name}", f"hydra.sweep.dir={empty}", *overrides])
        except BadInput as err:
            raise UsageError(str(err)) from None
    shutil.rmtree(PROJECT_ROOT / runs, ignore_errors=True)


def report_text(name: str) -> dict:
    """The experiment's `report` section (title, question, optional_levers); {} without one."""
    config = OmegaConf.load(EXPERIMENTS / f"{name}.yaml")
    section = OmegaConf.select(config, "report", default=None)
    return OmegaConf.to_container(section) if section is not None else {}  # type: ignore


def question_for(levers: list[str]) -> str | None:
    """The question of the named experiment whose sweep this is: one that varies all of its
    levers, or all but some of its `optional_levers`; None when no experiment's fits."""
    varied = set(levers)
    for name in known_experiments():
        text = report_text(name)
        planned = planned_levers(name)
        if text.get("question") and planned:
            required = planned - set(text.get("optional_levers", []))
            if required <= varied <= planned:
                return text["question"]
    return None
