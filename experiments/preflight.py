"""Check every job of a command before any job runs.

`check(argv)` composes the config of each job the command would launch (one job, or every
combination of a sweep, `hydra.sweeper.params` included, expanded as Hydra's basic sweeper does),
checks keys and types (the schema), ranges (`sim.params.validate`) and that no job folder holds
finished results of a different config. The first problem raises `BadInput` with one line.

Composing is Hydra's slowest step (tens of milliseconds), so each distinct choice of presets is
composed once and the value overrides of each job are applied to a copy, as Hydra applies them.
"""

import copy
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict

from . import schema
from .errors import BadInput, explain
from .job import completed_hash

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CONFIG_NAME = "config"
MULTIRUN_FLAGS = ("-m", "--multirun")


@dataclass
class PlannedJob:
    overrides: list[str]
    config_hash: str
    folder: Path | None


def check(argv: list[str]) -> list[PlannedJob] | None:
    """The jobs `argv` would run, all checked; None when argv holds flags left to Hydra."""
    flags = [a for a in argv if a.startswith("-")]
    if any(flag not in MULTIRUN_FLAGS for flag in flags):
        return None  # --help, --cfg, --info, -cn ...: Hydra's business
    multirun = bool(flags)
    arguments = [a for a in argv if not a.startswith("-")]
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return plan(arguments, multirun)
    except BadInput:
        raise
    except Exception as err:  # Hydra's and OmegaConf's errors, made one line
        raise BadInput(explain(err)) from err


def plan(arguments: list[str], multirun: bool) -> list[PlannedJob]:
    configs = JobConfigs()
    parsed = [configs.parse(line) for line in arguments]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        raise BadInput(f"'{sweeps[0].input_line}' is a sweep; add -m to run it as one")
    fixed = [o for o in parsed if not o.is_sweep_override()]
    hydra_cfg = configs.compose_base(fixed).hydra
    if multirun:
        params = hydra_cfg.sweeper.get("params") or {}
        lines = [f"{k}={v}" for k, v in params.items()] + arguments
        jobs = BasicSweeper.split_arguments([configs.parse(line) for line in lines], None)[0]
    else:
        jobs = [arguments]
    planned = []
    for overrides, folder in zip(jobs, job_folders(hydra_cfg, multirun, len(jobs)), strict=True):
        config = configs.job_config(overrides)
        schema.params_from_config(config)
        digest = schema.config_hash(config)
        if folder is not None:
            finished = completed_hash(folder)
            if finished is not None and finished != digest:
                raise BadInput(
                    f"{folder} holds finished results of a different config; "
                    "pick another hydra.sweep.dir (or hydra.run.dir) or delete that folder"
                )
        planned.append(PlannedJob(list(overrides), digest, folder))
    return planned


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
        loader = GlobalHydra.instance().config_loader()
        self.repository = loader.repository  # type: ignore[attr-defined]

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
        return self.repository.group_exists(override.key_or_group)

    def apply(self, config: dict, groups: tuple[str, ...], override: Override) -> None:
        memo = (groups, override.input_line)
        given = override.value()
        if memo not in self.values:
            # A dict merges into the node: apply it to a fresh copy, not to the scratch one.
            scratch = self.composed[groups][1]
            target = copy.deepcopy(scratch) if isinstance(given, dict) else scratch
            ConfigLoaderImpl._apply_overrides_to_config([override], target)
            node = OmegaConf.select(target, override.key_or_group, throw_on_missing=False)
            typed = OmegaConf.to_container(node) if OmegaConf.is_config(node) else node
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


def job_folders(hydra_cfg: DictConfig, multirun: bool, n_jobs: int) -> list[Path | None]:
    """Where each job will write, when the folders are fixed (not dated); else None."""
    try:
        return fixed_folders(hydra_cfg, multirun, n_jobs)
    except Exception:  # a folder named after something only the job knows
        return [None] * n_jobs


def fixed_folders(hydra_cfg: DictConfig, multirun: bool, n_jobs: int) -> list[Path | None]:
    if not multirun:
        raw = OmegaConf.to_container(hydra_cfg.run, resolve=False)["dir"]  # type: ignore[index]
        dated = "${now:" in raw
        return [None if dated else Path(str(hydra_cfg.run.dir))]
    sweep = OmegaConf.to_container(hydra_cfg.sweep, resolve=False)
    if "${now:" in sweep["dir"] or sweep["subdir"] != "${hydra.job.num}":  # type: ignore[index]
        return [None] * n_jobs
    root = Path(str(hydra_cfg.sweep.dir))
    return [root / str(num) for num in range(n_jobs)]
