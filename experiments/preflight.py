"""Check every job of a command before any job runs.

`check(argv)` composes the config of each job the command would launch (one job, or every
combination of a sweep, `hydra.sweeper.params` included, expanded as Hydra's basic sweeper does),
checks keys and types (the schema), ranges (`sim.params.validate`), that no job folder holds
finished results of a different config or of other model code, and that Hydra's settings
neither name code to run nor send files outside the output folder (`check_hydra_settings`).
The first problem raises `BadInput` with one line. `prepare(argv)` also says which folder the
command writes (a dated folder is fixed now, so that the command can lock it and name it).

Composing is Hydra's slowest step (tens of milliseconds), so each distinct choice of presets is
composed once and the value overrides of each job are applied to a copy, as Hydra applies them.
"""

import copy
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict

from . import hydra_compat, io, schema
from .errors import BadInput, explain
from .job import finished, folder_problem

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
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
# Plugin classes Hydra may instantiate from config: its own and installed plugins'.
PLUGIN_MODULES = ("hydra_plugins.", "hydra._internal.core_plugins.")
LOG_FILE_PREFIX = "${hydra.runtime.output_dir}/"


@dataclass
class PlannedJob:
    overrides: list[str]
    config_hash: str
    folder: Path | None
    resume: bool = True
    replicates: int = 0


@dataclass
class Prepared:
    """A checked command: its jobs, the folder it writes, and what to tell Hydra and the user."""

    jobs: list[PlannedJob]
    folder: Path | None  # the sweep folder, or the single job's folder
    multirun: bool
    pinned: list[str] = field(default_factory=list)  # overrides fixing a dated folder
    warnings: list[str] = field(default_factory=list)


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
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return plan(arguments, multirun, allow_outside, details=True)
    except BadInput:
        raise
    except Exception as err:  # Hydra's and OmegaConf's errors, made one line
        raise BadInput(explain(err)) from err


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
    fixed = [o for o in parsed if not o.is_sweep_override()]
    hydra_cfg = configs.compose_base(fixed).hydra
    check_hydra_settings(hydra_cfg, allow_outside)
    if multirun:
        params = hydra_cfg.sweeper.get("params") or {}
        lines = [f"{k}={v}" for k, v in params.items()] + arguments
        jobs = hydra_compat.split_sweep([configs.parse(line) for line in lines])
    else:
        jobs = [arguments]
    folder, pinned = command_folder(hydra_cfg, multirun)
    folders = job_folders(hydra_cfg, multirun, len(jobs), folder)
    planned = []
    for overrides, job_folder in zip(jobs, folders, strict=True):
        config = configs.job_config(overrides)
        _, run = schema.params_from_config(config)
        digest = schema.config_hash(config)
        planned.append(PlannedJob(list(overrides), digest, job_folder, run.resume, run.replicates))
    check_folders(planned)
    if not details:
        return planned
    return Prepared(planned, folder, multirun, pinned, conflicts(parsed))


def check_folders(planned: list[PlannedJob]) -> None:
    """BadInput if a job folder cannot be written (`job.folder_problem`) or holds finished
    results of another config, or (when the job resumes) of other model code."""
    stale = []
    for job in planned:
        if job.folder is None:
            continue
        if problem := folder_problem(job.folder):
            raise BadInput(problem)
        done = finished(job.folder)
        if done is None:
            continue
        if done.config_hash != job.config_hash:
            raise BadInput(
                f"{job.folder} holds finished results of a different config; "
                "pick another hydra.sweep.dir (or hydra.run.dir) or delete that folder"
            )
        if job.resume and done.code_version != io.code_version():
            stale.append(job.folder)
    if stale:
        raise BadInput(
            f"{len(stale)} job folder(s) ({', '.join(str(f) for f in stale[:3])}"
            f"{' ...' if len(stale) > 3 else ''}) hold results of other model code (now "
            f"{io.code_version()}); add run.resume=false to recompute them, or use another folder"
        )


def walk(node, path: str = ""):
    """(dotted key, value) of every leaf and branch of plain config data."""
    if isinstance(node, dict):
        for key, value in node.items():
            name = f"{path}.{key}" if path else str(key)
            yield name, value
            yield from walk(value, name)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield f"{path}[{i}]", value
            yield from walk(value, f"{path}[{i}]")


def check_hydra_settings(hydra_cfg: DictConfig, allow_outside: bool = False) -> None:
    """BadInput if Hydra's settings would run code named in config or write outside the folder.

    Refused: callbacks, `_target_` anywhere but the launcher's and sweeper's plugin class,
    logging factories (`()`) and handler classes outside `logging`, log files outside the job
    folder, environment variables set for jobs, a launcher's shell `setup` commands,
    `hydra.mode` (the check plans what -m says), `hydra.output_subdir` and `hydra.sweep.subdir`
    leaving the job folder, and `hydra.run.dir` / `hydra.sweep.dir` that climb (`..`) out of the
    current folder, unless allow_outside.
    """
    raw = OmegaConf.to_container(hydra_cfg, resolve=False)
    assert isinstance(raw, dict)
    if raw.get("callbacks"):
        name = next(iter(raw["callbacks"]))
        raise BadInput(f"hydra.callbacks.{name}: callbacks are not allowed (config runs no code)")
    for key, value in walk(raw, "hydra"):
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "_target_" and (
            key not in ("hydra.launcher._target_", "hydra.sweeper._target_")
            or not str(value).startswith(PLUGIN_MODULES)
        ):
            raise BadInput(f"{key} = {value!r}: config may not name code to run")
        if leaf == "()":
            raise BadInput(f"{key}: logging factories are not allowed (config never runs code)")
        if key.startswith(("hydra.job_logging.", "hydra.hydra_logging.")):
            if leaf == "class" and not str(value).startswith("logging."):
                raise BadInput(f"{key} = {value!r}: only classes of Python's logging are allowed")
            if leaf == "filename" and (
                not str(value).startswith(LOG_FILE_PREFIX) or ".." in str(value)
            ):
                raise BadInput(
                    f"{key} = {value!r}: log files must stay in the job folder "
                    f"({LOG_FILE_PREFIX}NAME.log)"
                )
    if (raw.get("launcher") or {}).get("setup"):
        raise BadInput(
            "hydra.launcher.setup: shell commands in config are not allowed (config runs no "
            "code); load modules in the shell that submits the sweep, whose environment the "
            "jobs inherit"
        )
    if raw.get("mode") is not None:
        raise BadInput(f"hydra.mode = {raw['mode']}: give -m for a sweep instead")
    if raw.get("job", {}).get("env_set"):
        raise BadInput("hydra.job.env_set: setting environment variables for jobs is not allowed")
    subdir = raw.get("output_subdir")
    if subdir is not None and not inside(str(subdir)):
        raise BadInput(
            f"hydra.output_subdir = {subdir!r} must be a folder inside the job folder (or null)"
        )
    sweep_subdir = str(raw.get("sweep", {}).get("subdir", ""))
    if not inside(sweep_subdir):
        raise BadInput(f"hydra.sweep.subdir = {sweep_subdir!r} must stay inside hydra.sweep.dir")
    if allow_outside:
        return
    for key in ("run", "sweep"):
        given = str(raw.get(key, {}).get("dir", ""))
        if ".." in PurePosixPath(given).parts and not Path(given).resolve().is_relative_to(
            Path.cwd().resolve()
        ):
            raise BadInput(
                f"hydra.{key}.dir = {given!r} climbs out of the current folder; give an "
                "absolute path, or add --allow-outside-project"
            )


def inside(relative: str) -> bool:
    """Whether a relative path stays inside the folder it is relative to."""
    path = PurePosixPath(relative)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in relative


def command_folder(hydra_cfg: DictConfig, multirun: bool) -> tuple[Path | None, list[str]]:
    """The folder the command writes (sweep folder or single job's), and the override that fixes
    it when it is dated (`${now:...}` resolved now); (None, []) when only the job knows it."""
    key = "sweep" if multirun else "run"
    raw = str(OmegaConf.to_container(hydra_cfg[key], resolve=False)["dir"])  # type: ignore[index]
    try:
        folder = str(hydra_cfg[key].dir)
    except Exception:  # named after something only the job knows
        return None, []
    if "${now:" not in raw:
        return Path(folder), []
    if any(c in folder for c in " ,=[]{}()'\"\\"):
        return None, []  # cannot be written as an override as it is
    return Path(folder), [f"hydra.{key}.dir={folder}"]


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


def job_folders(
    hydra_cfg: DictConfig, multirun: bool, n_jobs: int, folder: Path | None
) -> list[Path | None]:
    """Where each job will write, when known (a sweep's subdir is the job number); else None."""
    if folder is None:
        return [None] * n_jobs
    if not multirun:
        return [folder]
    subdir = OmegaConf.to_container(hydra_cfg.sweep, resolve=False)["subdir"]  # type: ignore
    if subdir != "${hydra.job.num}":
        return [None] * n_jobs
    return [folder / str(num) for num in range(n_jobs)]
