"""What Hydra may do from config, checked before any job runs (`experiments/preflight.py`).

Config never runs code, never sets up the jobs' environment and never writes outside the output
folders, whether a setting comes from an override or from a config file. Refused, with one line
naming the key and the value:

- code: `hydra.callbacks`; `_target_` anywhere but a launcher of `LAUNCHERS` and the basic
  sweeper (whose jobs the check plans); logging factories (`()`), logging classes outside
  `LOG_HANDLERS` and `logging.Formatter`, `ext://` objects but sys.stdout and sys.stderr;
  `hydra.searchpath` entries but the project's `configs/` (a `pkg://` entry imports a module);
- the jobs' environment: `hydra.job.env_set` and `env_copy`, a launcher's shell `setup`, Ray's
  `runtime_env` and any Ray setting outside `RAY_INIT` / `RAY_REMOTE`, SLURM options that set
  the environment, the working folder, the job's files or its command;
- files (`check_folders`), with interpolations resolved (`${oc.env:...}`, `${hydra.job.name}`
  ...): the command's folder (`hydra.run.dir` or `hydra.sweep.dir`) and each job's
  (`hydra.sweep.subdir`, one per job) must lie outside the project or in its output folders
  (`outputs/`, `multirun/`, a `runs/` folder under `results/`: nothing there is tracked by
  git), and a relative one that climbs (`..`) out of the current folder needs
  `--allow-outside-project`; log files and the launchers' files stay in the job's or the
  command's folder; `hydra.output_subdir` stays `.hydra`, where the reports read each job's
  overrides;
- `hydra.mode` (give -m for a sweep instead);
- a config file that is not UTF-8, or whose YAML aliases expand past `MAX_YAML_VALUES` values
  (`check_yaml_file`, called as Hydra reads each file).
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf

from .errors import BadInput

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "configs"
OUTPUT_FOLDERS = ("outputs", "multirun")  # and any `runs` folder under results/ (.gitignore)
RAY_LAUNCHER = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
LAUNCHERS = {  # the `_target_` of each launcher the project documents (docs/experiments.md)
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
    RAY_LAUNCHER,
}
LAUNCHER_NAMES = "basic, joblib, slurm, submitit_local, ray, ray_cluster"
SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
LOG_HANDLERS = {
    "logging.StreamHandler",
    "logging.NullHandler",
    "logging.FileHandler",
    "logging.handlers.RotatingFileHandler",
    "logging.handlers.WatchedFileHandler",
}
LOG_STREAMS = ("ext://sys.stdout", "ext://sys.stderr")
RAY_INIT = {
    "address",
    "num_cpus",
    "num_gpus",
    "resources",
    "object_store_memory",
    "include_dashboard",
    "ignore_reinit_error",
    "log_to_driver",
    "logging_level",
    "namespace",
}
RAY_REMOTE = {"num_cpus", "num_gpus", "memory", "resources", "max_retries", "max_calls"}
# sbatch options that would set the jobs' environment, working folder, files or command
SLURM_REFUSED = {
    "export",
    "export_file",
    "get_user_env",
    "chdir",
    "output",
    "error",
    "input",
    "wrap",
    "container",
    "prolog",
    "epilog",
    "task_prolog",
    "task_epilog",
}
JOBLIB_BACKENDS = (None, "loky", "multiprocessing", "threading", "sequential")
JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
OUTPUT_SUBDIR = ".hydra"  # Hydra's default, where studies/sweep/aggregate.py reads overrides
MAX_YAML_VALUES = 100_000  # a config file's values once its YAML aliases are expanded


@dataclass
class Folders:
    """Where a command writes: its folder and each job's, as given (relative or absolute)."""

    command: Path
    jobs: list[Path]


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


# --- code and environment ----------------------------------------------------------------------


def check_searchpath(entries) -> None:
    """BadInput unless every search path entry is the project's configs/ folder (or inside it)."""
    if entries is None:
        return
    for entry in entries if isinstance(entries, list | tuple) else [entries]:
        text = str(entry)
        scheme, _, path = text.partition("://")
        if scheme != "file" or not Path(path).resolve().is_relative_to(CONFIG_DIR.resolve()):
            raise BadInput(
                f"hydra.searchpath entry {text!r} is not allowed: configs come from the "
                "project's configs/ folder only (a pkg:// entry would import a module)"
            )


def check_searchpath_overrides(overrides: list[Override]) -> None:
    """`check_searchpath` on the command line, before composing: Hydra imports a pkg:// entry's
    module as it composes."""
    for override in overrides:
        if override.key_or_group == "hydra.searchpath":
            check_searchpath(override.value())


def check_code(raw: dict) -> None:
    """BadInput if Hydra's settings (plain, unresolved) name code or set the jobs' environment."""
    if raw.get("callbacks"):
        name = next(iter(raw["callbacks"]))
        raise BadInput(f"hydra.callbacks.{name}: callbacks are not allowed (config runs no code)")
    launcher = raw.get("launcher") or {}
    target = launcher.get("_target_")
    if target not in LAUNCHERS:
        raise BadInput(
            f"hydra.launcher._target_ = {target!r}: config may not name code to run; "
            f"launchers allowed (hydra/launcher=NAME): {LAUNCHER_NAMES}"
        )
    sweeper = (raw.get("sweeper") or {}).get("_target_")
    if sweeper != SWEEPER:
        raise BadInput(
            f"hydra.sweeper._target_ = {sweeper!r}: only Hydra's basic sweeper is allowed "
            "(config may not name code to run)"
        )
    for key, value in walk(raw, "hydra"):
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "_target_" and key not in ("hydra.launcher._target_", "hydra.sweeper._target_"):
            raise BadInput(f"{key} = {value!r}: config may not name code to run")
        if key.startswith(("hydra.job_logging.", "hydra.hydra_logging.")):
            check_logging(key, leaf, value)
    for section in ("job_logging", "hydra_logging"):
        check_logging_names(f"hydra.{section}", raw.get(section) or {})
    check_searchpath(raw.get("searchpath"))
    job = raw.get("job") or {}
    for name in ("env_copy", "env_set"):  # Hydra copies env_copy into env_set
        if job.get(name):
            raise BadInput(
                f"hydra.job.{name}: setting environment variables for jobs is not allowed"
            )
    if not JOB_NAME.fullmatch(str(job.get("name"))):
        raise BadInput(
            f"hydra.job.name = {job.get('name')!r} must be a plain name (letters, digits, _ . -)"
        )
    check_launcher(launcher)
    if raw.get("mode") is not None:
        raise BadInput(f"hydra.mode = {raw['mode']}: give -m for a sweep instead")


def check_logging(key: str, leaf: str, value) -> None:
    if leaf == "()":
        raise BadInput(f"{key}: logging factories are not allowed (config never runs code)")
    if leaf == "class" and value not in (LOG_HANDLERS | {"logging.Formatter"}):
        raise BadInput(
            f"{key} = {value!r} is not allowed; log handlers allowed: "
            f"{', '.join(sorted(LOG_HANDLERS))}"
        )
    if isinstance(value, str) and value.startswith("ext://") and value not in LOG_STREAMS:
        raise BadInput(f"{key} = {value!r}: only ext://sys.stdout and ext://sys.stderr are allowed")
    if leaf == "filename" and key.startswith("hydra.hydra_logging."):
        raise BadInput(f"{key}: Hydra's own log is not written to files here")


def check_logging_names(key: str, config: dict) -> None:
    """BadInput unless a logging config is version 1 and names only handlers and formatters it
    defines (else Python's logging fails as each job starts)."""
    if config and config.get("version") != 1:
        raise BadInput(f"{key}.version = {config.get('version')!r}; allowed: 1")
    handlers, formatters = config.get("handlers") or {}, config.get("formatters") or {}
    users = {"root": config.get("root") or {}, **(config.get("loggers") or {})}
    for name, logger in users.items():
        for handler in (logger or {}).get("handlers") or []:
            if handler not in handlers:
                raise BadInput(
                    f"{key} logger {name} names handler {handler!r}; defined: "
                    f"{', '.join(handlers) or 'none'}"
                )
    for name, handler in handlers.items():
        formatter = (handler or {}).get("formatter")
        if formatter is not None and formatter not in formatters:
            raise BadInput(
                f"{key}.handlers.{name}.formatter = {formatter!r}; defined: "
                f"{', '.join(formatters) or 'none'}"
            )


def check_launcher(launcher: dict) -> None:
    """BadInput for launcher settings that would set up the jobs' environment or run commands."""
    for key, _ in walk(launcher, "hydra.launcher"):
        if key.rsplit(".", 1)[-1] == "runtime_env":
            raise BadInput(
                f"{key}: Ray's runtime_env is not allowed (it would set the jobs' environment "
                "or code); give the jobs' environment to the cluster itself"
            )
    ray = launcher.get("ray") or {}
    for part, allowed in (("init", RAY_INIT), ("remote", RAY_REMOTE)):
        unknown = sorted(set(ray.get(part) or {}) - allowed)
        if unknown:
            raise BadInput(
                f"hydra.launcher.ray.{part}.{unknown[0]} is not allowed; allowed: "
                f"{', '.join(sorted(allowed))}"
            )
    if launcher.get("setup"):
        raise BadInput(
            "hydra.launcher.setup: shell commands in config are not allowed (config runs no "
            "code); load modules in the shell that submits the sweep, whose environment the "
            "jobs inherit"
        )
    for name in launcher.get("additional_parameters") or {}:
        if str(name).replace("-", "_").lower() in SLURM_REFUSED:
            raise BadInput(
                f"hydra.launcher.additional_parameters.{name}: SLURM options that set the jobs' "
                "environment, folder, files or command are not allowed"
            )
    n_jobs = launcher.get("n_jobs")
    if "n_jobs" in launcher and (not isinstance(n_jobs, int) or n_jobs == 0):
        raise BadInput(
            f"hydra.launcher.n_jobs = {n_jobs!r} must be a whole number other than 0 "
            "(-1: every core)"
        )
    if "backend" in launcher and launcher["backend"] not in JOBLIB_BACKENDS:
        raise BadInput(
            f"hydra.launcher.backend = {launcher['backend']!r}; allowed: "
            f"{', '.join(str(b).lower() for b in JOBLIB_BACKENDS)}"
        )


# --- files -------------------------------------------------------------------------------------


def check_folders(
    hydra_cfg: DictConfig,
    multirun: bool,
    arguments: list[str],
    job_overrides: list[list[str]],
    allow_outside: bool,
) -> Folders:
    """The command's folder and each job's, resolved; BadInput if Hydra would write elsewhere.

    `arguments` are the command's override lines and `job_overrides` each job's (for
    `${hydra.job.override_dirname}`). Only Hydra's own settings, the environment and `${now:...}`
    may name a folder: each path is resolved from Hydra's part of the config alone, as Hydra
    resolves it for the command and for each job.
    """
    raw = OmegaConf.to_container(hydra_cfg, resolve=False)
    assert isinstance(raw, dict)
    plan = OmegaConf.create({"hydra": raw})
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    set_job(plan, None, arguments)
    command = writable(resolve(plan, key), key, allow_outside)
    jobs = []
    for num, lines in enumerate(job_overrides if multirun else [arguments]):
        if multirun:
            set_job(plan, num, lines)
            sub = resolve(plan, "hydra.sweep.subdir") or ""
            if not inside(sub) or PurePosixPath(sub).parts in ((), (".",)):
                raise BadInput(
                    f"hydra.sweep.subdir = {sub!r} must name a folder inside hydra.sweep.dir"
                )
            jobs.append(writable(str(command / sub), "hydra.sweep.subdir", allow_outside=True))
        else:
            jobs.append(command)
        check_job_files(plan, jobs[-1])
    if len(set(jobs)) < len(jobs):
        twice = next(j for j in jobs if jobs.count(j) > 1)
        raise BadInput(
            f"hydra.sweep.subdir = {raw['sweep']['subdir']!r} gives several jobs the folder "
            f"{twice}; use ${{hydra.job.num}}"
        )
    if multirun:
        check_launcher_folders(plan, command)
    return Folders(command, jobs)


def set_job(plan: DictConfig, num: int | None, lines: list[str]) -> None:
    """Hydra's per-job values in `plan`: the job number and the override_dirname of `lines`."""
    job = plan.hydra.job
    if num is not None:
        job.num = num
    settings = job.config.override_dirname
    kept = sorted(
        line
        for line in lines
        if not line.lstrip("+~").startswith(("hydra.", "hydra/"))
        and line.lstrip("+~").split("=", 1)[0] not in settings.exclude_keys
    )
    job.override_dirname = settings.item_sep.join(kept).replace("=", settings.kv_sep)


def resolve(plan: DictConfig, key: str) -> str | None:
    """`key`'s value with interpolations resolved; BadInput if that needs more than Hydra's part."""
    try:
        value = OmegaConf.select(plan, key, throw_on_missing=True)
    except Exception as err:
        detail = str(err).splitlines()[0]
        raw = OmegaConf.to_container(plan, resolve=False)
        for part in key.split("."):
            raw = raw[part]  # type: ignore[index]
        raise BadInput(
            f"{key} = {raw!r} cannot be resolved before the run ({detail}); name folders with "
            "${now:...}, ${oc.env:...}, ${hydra.job.num} or ${hydra.job.override_dirname}"
        ) from err
    return None if value is None else str(value)


def in_output_folder(folder: Path) -> bool:
    """Whether a resolved folder lies outside the project or in one of its output folders."""
    root = PROJECT_ROOT.resolve()
    if not folder.is_relative_to(root):
        return True
    parts = folder.relative_to(root).parts
    return bool(parts) and (
        parts[0] in OUTPUT_FOLDERS or (parts[0] == "results" and "runs" in parts[1:])
    )


def writable(given: str | None, key: str, allow_outside: bool) -> Path:
    """The folder `given` (resolved from the current folder), if Hydra may write into it."""
    if given is None or not given.strip():
        raise BadInput(f"{key} is empty: name a folder")
    if given.startswith("~"):
        raise BadInput(f"{key} = {given!r}: ~ is not expanded here; give the full path")
    folder = Path(given).resolve()
    if not in_output_folder(folder):
        raise BadInput(
            f"{key} = {given!r} lies in the project ({folder}) outside its output folders; "
            "there Hydra writes only under outputs/, multirun/ or results/NAME/runs/"
        )
    if (
        not allow_outside
        and ".." in PurePosixPath(given).parts
        and not folder.is_relative_to(Path.cwd().resolve())
    ):
        raise BadInput(
            f"{key} = {given!r} climbs out of the current folder; give an absolute path, or "
            "add --allow-outside-project"
        )
    return Path(given)


def inside(relative: str) -> bool:
    """Whether a relative path stays inside the folder it is relative to."""
    path = PurePosixPath(relative)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in relative


def check_job_files(plan: DictConfig, folder: Path) -> None:
    """BadInput unless Hydra's record of the job in `folder` goes to its `.hydra` (where the
    reports read it) and its log files stay in `folder`."""
    home = folder.resolve()
    plan.hydra.runtime.output_dir = str(home)
    subdir = resolve(plan, "hydra.output_subdir")
    if subdir != OUTPUT_SUBDIR:
        raise BadInput(
            f"hydra.output_subdir = {subdir!r}: only {OUTPUT_SUBDIR} is allowed (the reports "
            "read each job's overrides there)"
        )
    handlers = plan.hydra.job_logging.get("handlers") or {}
    for name in handlers:
        key = f"hydra.job_logging.handlers.{name}.filename"
        if "filename" in handlers[name]:
            path = resolve(plan, key) or ""
            if not (home / path).resolve().is_relative_to(home) or path.strip() in ("", "."):
                raise BadInput(
                    f"{key} = {path!r}: log files must stay in the job folder "
                    "(${hydra.runtime.output_dir}/NAME.log)"
                )
        elif handlers[name].get("class", "").endswith("FileHandler"):
            raise BadInput(f"hydra.job_logging.handlers.{name} needs a filename")


def check_launcher_folders(plan: DictConfig, command: Path) -> None:
    """BadInput if a launcher's own files (submitit's, joblib's) leave the command's folder."""
    launcher = plan.hydra.launcher
    for name in ("submitit_folder", "temp_folder"):
        if launcher.get(name) is None:
            continue
        key = f"hydra.launcher.{name}"
        path = resolve(plan, key) or ""
        if not Path(path).resolve().is_relative_to(command.resolve()):
            raise BadInput(f"{key} = {path!r} must lie inside the command's folder ({command})")


# --- config files ------------------------------------------------------------------------------


def check_yaml_file(path: str) -> None:
    """BadInput naming the file if a config file is not UTF-8 or its aliases expand too far."""
    shown = os.path.relpath(path, PROJECT_ROOT) if Path(path).is_relative_to(PROJECT_ROOT) else path
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInput(
            f"{shown} is not UTF-8 text (byte {data[err.start]:#04x} at position {err.start}); "
            "save it as UTF-8"
        ) from err
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # Hydra reports the syntax error with its line
    except RecursionError as err:
        raise BadInput(f"{shown}: nested too deeply") from err
    if node is not None and expanded_size(node, {}) > MAX_YAML_VALUES:
        raise BadInput(
            f"{shown}: its YAML aliases expand to more than {MAX_YAML_VALUES:,} values "
            "(or refer to themselves)"
        )


def expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` holds once aliases are expanded (a cycle counts as too many)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_YAML_VALUES + 1  # in progress: a node reached again is a cycle
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    total = 1
    for child in children:
        total += expanded_size(child, sizes)
        if total > MAX_YAML_VALUES:
            break
    sizes[id(node)] = total
    return total
