"""Check every job of a command before any job runs.

`check(argv)` composes the config of each job the command would launch (one job, or every
combination of a sweep, `hydra.sweeper.params` included, expanded as Hydra's basic sweeper does),
checks keys and types (the schema), ranges (`sim.params.validate`), that no job folder holds
finished results of a different config or of other model code, and that Hydra's settings
neither name code to run nor send files outside the output folders (`experiments/
hydra_settings.py`, which also checks each config file as Hydra reads it).
The first problem raises `BadInput` with one line. `prepare(argv)` also says which folder the
command writes (a dated folder is fixed now, so that the command can lock it and name it).

Composing is Hydra's slowest step (tens of milliseconds), so each distinct choice of presets is
composed once and the value overrides of each job are applied to a copy, as Hydra applies them.
"""

import contextlib
import copy
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf, open_dict

from . import hydra_compat, hydra_settings, io, schema
from .errors import BadInput, explain
from .job import finished, folder_problem, job_digest

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIG_NAME = "config"
MULTIRUN_FLAGS = ("-m", "--multirun")
# Hydra's flags that print something and run no job; any other flag (-cp, -cn, -cd, --run ...)
# would compose config files this check does not see, and is refused.
INFO_FLAGS = (
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--cfg",
    "-c",
    "--resolve",
    "--package",
    "-p",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
)


@dataclass
class PlannedJob:
    overrides: list[str]
    config_hash: str
    folder: Path
    resume: bool = True
    replicates: int = 0


@dataclass
class Prepared:
    """A checked command: its jobs, the folder it writes, and what to tell Hydra and the user."""

    jobs: list[PlannedJob]
    folder: Path  # the sweep folder, or the single job's folder
    multirun: bool
    pinned: list[str] = field(default_factory=list)  # overrides fixing a dated folder
    warnings: list[str] = field(default_factory=list)
    local_ray: bool = False  # the Ray launcher starts a cluster of its own


def check(argv: list[str], allow_outside: bool = False) -> list[PlannedJob] | None:
    """The jobs `argv` would run, all checked; None when argv holds flags left to Hydra."""
    prepared = prepare(argv, allow_outside)
    return None if prepared is None else prepared.jobs


def prepare(argv: list[str], allow_outside: bool = False) -> Prepared | None:
    """`check`, plus the command's folder; None for Hydra's information flags."""
    flags = [a for a in argv if a.startswith("-")]
    if any(flag in INFO_FLAGS for flag in flags):
        return None  # --help, --cfg, --info ...: Hydra's business, no job runs
    unknown = [flag for flag in flags if flag not in MULTIRUN_FLAGS]
    if unknown:
        raise BadInput(
            f"flag {unknown[0]} is not supported here; this command composes "
            "configs/config.yaml only (allowed: -m, and Hydra's --help, --cfg, --info)"
        )
    multirun = bool(flags)
    arguments = [a for a in argv if not a.startswith("-")]
    with composing():
        return plan(arguments, multirun, allow_outside, details=True)


@contextlib.contextmanager
def composing(config_dir: Path | None = None) -> Iterator[None]:
    """Hydra set up on the configs in `config_dir` (the project's), each config file checked as
    Hydra reads it, and Hydra's and OmegaConf's errors made one line (BadInput)."""
    try:
        with (
            initialize_config_dir(config_dir=str(config_dir or CONFIG_DIR), version_base="1.3"),
            hydra_compat.checked_config_files(hydra_settings.check_yaml_file),
        ):
            yield
    except BadInput:
        raise
    except Exception as err:
        raise BadInput(explain(err)) from err


def compose_file(config_dir: Path, name: str, overrides: list[str]) -> dict:
    """A study's own config, `config_dir/NAME.yaml` composed by Hydra with Hydra `overrides`, as
    data; BadInput (one line) for bad syntax, and for a key the file does not have, naming the
    file's keys."""
    with composing(config_dir):
        keys = list(compose(name))
        try:
            data = OmegaConf.to_container(compose(name, overrides=list(overrides)), resolve=True)
        except ConfigCompositionException as err:
            top = re.match(r"Could not override '(\w+)'", str(err))
            if top is None:  # a nested key: Hydra's hint (add it with +) on one line
                raise BadInput(" ".join(str(err).split())) from err
            unknown = [top[1]]
        else:
            unknown = [key for key in data if key not in keys]  # one added with +KEY=...
    if unknown:
        raise BadInput(f"unknown key '{unknown[0]}'; allowed: {', '.join(keys)}")
    return data  # type: ignore[return-value]


def check_hydra_overrides(overrides: list[str], sweep_dir: Path) -> None:
    """Check Hydra's settings `overrides` (`hydra/launcher=...`, `hydra.launcher.KEY=...`) for a
    command that runs its own Hydra app with them as a sweep into `sweep_dir`
    (`experiments.calibrate`): what the check refuses in Hydra's part of the config."""
    lines = [*overrides, f"hydra.sweep.dir={sweep_dir}"]
    schema.register()
    with composing():
        hydra_settings.check_searchpath_overrides(OverridesParser.create().parse_overrides(lines))
        hydra_cfg = compose(CONFIG_NAME, overrides=lines, return_hydra_config=True).hydra
        hydra_settings.check_code(OmegaConf.to_container(hydra_cfg, resolve=False))  # type: ignore
        hydra_settings.check_folders(hydra_cfg, True, lines, [lines], allow_outside=True)


def conflicts(parsed: list[Override]) -> list[str]:
    """A warning for each key given more than once with different values (the last wins)."""
    given: dict[str, list[str]] = {}
    for override in parsed:
        _, _, value = override.input_line.partition("=")
        given.setdefault(override.key_or_group, []).append(value)
    return [
        f"warning: {key} is given {len(values)} times ({', '.join(values)}); "
        f"the last one ({values[-1]}) is used"
        for key, values in given.items()
        if len(set(values)) > 1
    ]


def plan(arguments: list[str], multirun: bool, allow_outside: bool = False, details=False):
    """The checked jobs (a Prepared with details=True)."""
    configs = JobConfigs()
    parsed = [configs.parse(line) for line in arguments]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        raise BadInput(f"'{sweeps[0].input_line}' is a sweep; add -m to run it as one")
    hydra_settings.check_searchpath_overrides(parsed)
    fixed = [o for o in parsed if not o.is_sweep_override()]
    hydra_cfg = configs.compose_base(fixed).hydra
    hydra_settings.check_code(OmegaConf.to_container(hydra_cfg, resolve=False))  # type: ignore
    params = hydra_cfg.sweeper.get("params") or {}
    shuffled = []
    if multirun:
        lines = [f"{k}={v}" for k, v in params.items()] + arguments
        lines, shuffled = fixed_order([configs.parse(line) for line in lines])
        jobs = hydra_compat.split_sweep([configs.parse(line) for line in lines])
    else:
        check_not_a_sweep(params, parsed)
        jobs = [arguments]
    written = hydra_settings.check_folders(hydra_cfg, multirun, arguments, jobs, allow_outside)
    folder, folders = written.command, written.jobs
    pinned = pinned_folder(hydra_cfg, multirun, folder) + shuffled
    planned = []
    for overrides, job_folder in zip(jobs, folders, strict=True):
        config = configs.job_config(overrides)
        _, run = schema.params_from_config(config)
        digest = job_digest(config)
        planned.append(PlannedJob(list(overrides), digest, job_folder, run.resume, run.replicates))
    check_folders(planned)
    if not details:
        return planned
    launcher = hydra_cfg.launcher
    local_ray = multirun and launcher._target_ == hydra_settings.RAY_LAUNCHER
    local_ray = local_ray and launcher.ray.init.get("address") is None
    return Prepared(planned, folder, multirun, pinned, conflicts(parsed), local_ray)


class FolderTaken(BadInput):
    """A job folder holds finished results that this command would neither resume nor overwrite.

    `what` says what is there; a command that runs this one (`experiments.headline`,
    `experiments.sensitivity run`) adds its own way to start afresh."""

    def __init__(self, what: str, remedy: str):
        super().__init__(f"{what}; {remedy}")
        self.what = what


RUNNER_REMEDY = "rerun with --fresh to start over, or give --out DIR for a new folder"


def check_runner(argv: list[str], overrides: list[str]) -> None:
    """`check` for a command that runs `python -m experiments.run ARGV` and then reads the sweep
    folder ARGV names (`experiments.headline`, `experiments.sensitivity run`): the user's
    `overrides` may not move it, and a taken folder is renewed with that command's options."""
    for line in overrides:
        if line.lstrip("+~").split("=", 1)[0] in ("hydra.sweep.dir", "hydra.sweep.subdir"):
            raise BadInput(f"{line}: this command writes its jobs into OUT/runs; give --out OUT")
    schema.register()
    try:
        check(argv)
    except FolderTaken as err:
        raise BadInput(f"{err.what}; {RUNNER_REMEDY}") from err


def check_not_a_sweep(params, parsed: list[Override]) -> None:
    """BadInput when the config defines a sweep (an experiment's `hydra.sweeper.params`) that
    this command, run without -m, would leave out: one job of the base settings would run."""
    given = {o.key_or_group for o in parsed}
    left = [key for key in params if key not in given]
    if left:
        raise BadInput(
            f"the config defines a sweep over {', '.join(left)} (hydra.sweeper.params); add -m "
            "to run it, or set each of those keys to run one of its jobs"
        )


def fixed_order(overrides: list[Override]) -> tuple[list[str], list[str]]:
    """The sweep's override lines with each `shuffle(...)` sweep in a fixed shuffled order, and
    those lines alone (to pass on to Hydra).

    Hydra shuffles anew on every run, so job N would get another config each time and the sweep
    could never resume (nor this check plan the jobs Hydra runs). The order here is drawn from
    a generator seeded with the override's text: shuffled, and the same on every run.
    """
    lines, pinned = [], []
    for override in overrides:
        if override.is_sweep_override() and getattr(override.value(), "shuffle", False):
            values = hydra_compat.sweep_values(override)
            random.Random(override.input_line).shuffle(values)
            line = f"{override.get_key_element()}={','.join(values)}"
            lines.append(line)
            pinned.append(line)
        else:
            lines.append(override.input_line)
    return lines, pinned


def check_folders(planned: list[PlannedJob]) -> None:
    """FolderTaken if a job folder holds finished results of another config, or (when the job
    resumes) of other model code; BadInput if it cannot be written (`job.folder_problem`)."""
    stale = []
    for job in planned:
        if job.folder is not None and (problem := folder_problem(job.folder)):
            raise BadInput(problem)
        done = finished(job.folder)
        if done is None:
            continue
        if done.config_hash != job.config_hash:
            raise FolderTaken(
                f"{job.folder} holds finished results of a different config",
                "pick another hydra.sweep.dir (or hydra.run.dir) or delete that folder",
            )
        if job.resume and done.code_version != io.code_version():
            stale.append(job.folder)
    if stale:
        raise FolderTaken(
            f"{len(stale)} job folder(s) ({', '.join(str(f) for f in stale[:3])}"
            f"{' ...' if len(stale) > 3 else ''}) hold results of other model code (now "
            f"{io.code_version()})",
            "add run.resume=false to recompute them, or use another folder",
        )


def pinned_folder(hydra_cfg: DictConfig, multirun: bool, folder: Path) -> list[str]:
    """The override that fixes the command's folder when it is dated (`${now:...}` resolved now),
    so that the jobs write where the command locked and checked."""
    key = "sweep" if multirun else "run"
    raw = str(OmegaConf.to_container(hydra_cfg[key], resolve=False)["dir"])  # type: ignore[index]
    if "${now:" not in raw:
        return []
    if "'" in str(folder) or "\\" in str(folder):
        raise BadInput(
            f"hydra.{key}.dir = {str(folder)!r}: a dated folder cannot hold quotes or backslashes"
        )
    plain = not any(c in str(folder) for c in ' ,=[]{}()"')
    return [f"hydra.{key}.dir={folder}" if plain else f"hydra.{key}.dir='{folder}'"]


class JobConfigs:
    """Each job's config as plain data, with Hydra's typing, from as few compositions as can be.

    Presets (group overrides) are composed once per distinct choice; each distinct value
    override is applied once, with Hydra's own code, to a scratch copy of that composition (which
    checks the key and converts the value to the schema's type), and the typed value is then
    set in a plain copy of the composition for every job that uses it.
    """

    def __init__(self):
        self.parser = OverridesParser.create()
        self.overrides: dict[str, Override] = {}
        self.composed: dict[tuple[str, ...], tuple[dict, DictConfig]] = {}
        self.values: dict[tuple[tuple[str, ...], str], object] = {}

    def parse(self, line: str) -> Override:
        if line not in self.overrides:
            self.overrides[line] = self.parser.parse_overrides([line])[0]
        return self.overrides[line]

    def compose_base(self, fixed: list[Override]) -> DictConfig:
        """The config with Hydra's part, from the overrides that are not sweeps."""
        groups = tuple(o.input_line for o in fixed if self.is_group(o))
        hydra_lines = [o.input_line for o in fixed if o.is_hydra_override()]
        cfg = compose(CONFIG_NAME, overrides=[*groups, *hydra_lines], return_hydra_config=True)
        self.remember(groups, cfg)
        return cfg

    def remember(self, groups: tuple[str, ...], cfg: DictConfig) -> None:
        task = copy.deepcopy(cfg)
        with open_dict(task):
            task.pop("hydra", None)
        self.composed[groups] = (schema.resolved(task), cfg)

    def job_config(self, lines: list[str]) -> dict:
        task = [self.parse(line) for line in lines if not self.parse(line).is_hydra_override()]
        groups = tuple(o.input_line for o in task if self.is_group(o))
        if groups not in self.composed:
            self.remember(groups, compose(CONFIG_NAME, overrides=list(groups)))
        config = copy.deepcopy(self.composed[groups][0])
        for override in (o for o in task if not self.is_group(o)):
            self.apply(config, groups, override)
        return config

    def is_group(self, override: Override) -> bool:
        return hydra_compat.group_exists(override.key_or_group)

    def apply(self, config: dict, groups: tuple[str, ...], override: Override) -> None:
        memo = (groups, override.input_line)
        given = override.value()
        if memo not in self.values:
            # A dict merges into the node: apply it to a fresh copy, not to the scratch one.
            scratch = self.composed[groups][1]
            target = copy.deepcopy(scratch) if isinstance(given, dict) else scratch
            hydra_compat.apply_overrides([override], target)
            node = OmegaConf.select(target, override.key_or_group, throw_on_missing=False)
            typed = (
                OmegaConf.to_container(node, throw_on_missing=True)
                if OmegaConf.is_config(node)
                else node
            )
            self.values[memo] = DELETED if override.is_delete() else typed
        *parents, name = override.key_or_group.split(".")
        for parent in parents:
            config = config.setdefault(parent, {})
        value = self.values[memo]
        if value is DELETED:
            config.pop(name, None)
        elif isinstance(given, dict) and isinstance(config.get(name), dict):
            merge_given(config[name], value, given)
        else:
            config[name] = copy.deepcopy(value)


def merge_given(target: dict, typed: dict, given: dict) -> None:
    """Set in `target` the typed values of the keys the override gave, recursively."""
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_given(target[key], typed[key], value)
        else:
            target[key] = copy.deepcopy(typed[key])


DELETED = object()
