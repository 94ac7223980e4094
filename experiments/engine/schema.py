"""The typed Hydra schema, derived from the model's parameter dataclasses in `sim.params`.

`ExperimentConfig` is `sim.params.Params` with its `run` group extended by the settings of a
batch of replicates (`replicates`, `seed`, `workers`, `resume`, `checkpoint_seconds`), plus an
optional `uncertainty` design (`design.py`; None for an ordinary job, and then left out of the
config hash) and a named experiment's `report` wording (`ReportText`; never in the config hash).
Registered with Hydra's ConfigStore as `schema`, it types every key of `configs/`: an unknown key
or a value of the wrong type fails while Hydra composes the config. Ranges are checked by
`sim.params.validate`, through `params_from_config`, before any replicate runs. Nothing here
repeats a model default or range.
"""

import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

import sim.model
from sim.params import (
    Event,
    ParameterError,
    check_value,
    groups_of,
    param,
    policy_levers,
    resolve_key,
    validate,
)
from sim.schema import Params, RunParams

from . import design

# What sets the scene of a run, written beside the policy levers in every replicates.csv: the
# shock's date, the population's size and the run's dates.
RUN_SETTING = (
    "export_controls.start_year",
    "population.n_researchers",
    "run.years",
    "run.start_year",
)


@dataclass
class ReportText:
    """What a named experiment's report says it is: its title and the question it answers.

    Declared in the experiment's config (`configs/experiment/NAME.yaml`, section `report`). The
    question also stands for sweeps of the experiment that leave out some of its levers
    (`optional_levers`). Words only: they never change a number, so not the config hash.
    """

    title: str = ""
    question: str = ""
    optional_levers: list[str] = field(default_factory=list)


# Settings of a batch that change neither a replicate's numbers nor which replicates exist.
EXECUTION_KEYS = ("run.workers", "run.resume", "run.checkpoint_seconds")


@dataclass
class RunConfig(RunParams):
    """The model's run period plus how many replicates to run and from which seed."""

    replicates: int = param(10, 1, 1_000_000, unit="replicates", doc="Replicates in this job")
    seed: int = param(
        0,
        0,
        2**63 - 1,
        doc="Root seed: replicate i's seed derives from (seed, i) alone, so arms of a sweep "
        "share seeds",
    )
    workers: int = param(
        1, 1, 1024, unit="processes", doc="Processes running replicates (same numbers for any)"
    )
    resume: bool = param(
        True, doc="Reuse finished outputs and replicates of an unchanged config in the job folder"
    )
    checkpoint_seconds: float = param(
        30.0,
        0.0,
        86_400.0,
        unit="seconds",
        doc="Save a running job's finished replicates once this long has passed since the last "
        "save (0: after each replicate)",
    )


def model_params() -> type:
    """The parameters of the model's mechanisms (`sim.model.MECHANISMS`, read when called, so a
    mechanism added to that list brings its parameter group)."""
    return sim.model.parameters()


def main_levers() -> tuple[str, ...]:
    """The columns of every replicates.csv after `replicate` and `seed`, by dotted name: each
    policy lever of the model (`param(policy=True)`), then the run's setting (`RUN_SETTING`)."""
    return (*policy_levers(model_params()), *RUN_SETTING)


def experiment_config() -> type:
    """Every model parameter (typed as in sim.params) plus the batch settings under `run` and
    an optional uncertainty design (`design.py`; when set, the job runs a share of
    its points)."""
    return _experiment_config(model_params())


@functools.cache
def _experiment_config(params_type: type) -> type:
    extra = [
        ("run", RunConfig, field(default_factory=RunConfig)),
        ("uncertainty", Optional[design.DesignConfig], None),  # noqa: UP045 (OmegaConf needs it)
        ("report", Optional[ReportText], None),  # noqa: UP045
    ]
    return dataclasses.make_dataclass("ExperimentConfig", extra, bases=(params_type,))


ExperimentConfig = experiment_config()  # of the built-in mechanisms
# Top-level keys that are not groups of the model's parameters.
NOT_GROUPS = ("timeline", "uncertainty", "report")


def register() -> None:
    """Store the schema in Hydra's ConfigStore as `schema` (idempotent; done on import, and
    again by `experiments.run` in case the model's mechanisms changed)."""
    ConfigStore.instance().store(name="schema", node=experiment_config())


register()  # importing this module is enough for Hydra's Compose API to find `schema`


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def unknown_key(full_key: str, in_event: bool = False) -> str:
    """Why `full_key` is not a key of the schema, and which keys are."""
    if in_event:
        return (
            f"unknown key '{full_key}' in a timeline event; "
            f"an event has: {', '.join(field_names(Event))}"
        )
    group, _, name = full_key.partition(".")
    if group == "hydra":
        return (
            f"unknown key '{full_key}' in Hydra's settings "
            "(to add a key a launcher accepts, prefix the override with +)"
        )
    if group == "run" and name:
        return f"unknown key '{full_key}'; run has: {', '.join(field_names(RunConfig))}"
    if group in groups_of(model_params()) and name:
        try:
            resolve_key(full_key, model_params())
        except ParameterError as err:
            return str(err)
    top = ", ".join(field_names(experiment_config()))
    return f"unknown key '{full_key}'; top-level keys: {top}"


def group_class(name: str) -> type:
    return typing.get_type_hints(experiment_config())[name]


def check_keys(config: dict) -> None:
    """Raise ParameterError for keys outside the schema (Hydra lets `+key=value` add them)."""
    for key, value in config.items():
        if key not in field_names(experiment_config()):
            raise ParameterError(unknown_key(str(key)))
        if key == "timeline":
            for event in value:
                for name in event:
                    if name not in field_names(Event):
                        raise ParameterError(unknown_key(name, in_event=True))
            continue
        if key in ("uncertainty", "report"):  # typed by Hydra; a design is checked by design.check
            continue
        allowed = field_names(group_class(key))
        for name in value:
            if name not in allowed:
                raise ParameterError(unknown_key(f"{key}.{name}"))


def params_from_config(config: dict) -> tuple[Params, RunConfig]:
    """The model's `Params` and the batch settings of a plain config, both range-checked.

    Raises `sim.ParameterError` with a one-line message naming the key, the value and what is
    allowed.
    """
    check_keys(config)
    run = RunConfig(**config.get("run", {}))
    for f in dataclasses.fields(RunConfig):
        if f.name not in RunParams.__dataclass_fields__:
            setattr(run, f.name, check_value(f"run.{f.name}", f, getattr(run, f.name)))
    groups = {
        name: group_class(name)(**values)
        for name, values in config.items()
        if name not in ("run", *NOT_GROUPS)
    }
    groups["run"] = RunParams(
        **{f.name: getattr(run, f.name) for f in dataclasses.fields(RunParams)}
    )
    params = validate(model_params()(**groups, timeline=config.get("timeline", [])))
    if config.get("uncertainty") is not None:
        design.check(config["uncertainty"])
    return params, run


def to_params(cfg: DictConfig) -> tuple[Params, RunConfig]:
    """`params_from_config` of a composed Hydra config."""
    return params_from_config(resolved(cfg))


def resolved(cfg: DictConfig) -> dict:
    """The composed config as plain, JSON-ready data (interpolations resolved); without a
    `report` section when the config has none (so a job's record is as before there was one)."""
    config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    if isinstance(config, dict) and config.get("report", ...) is None:
        del config["report"]
    return config  # type: ignore


def config_hash(config: dict) -> str:
    """SHA-256 of the config without the execution settings and the report's wording, which
    leave the numbers unchanged."""
    run = {k: v for k, v in config.get("run", {}).items() if f"run.{k}" not in EXECUTION_KEYS}
    config = {k: v for k, v in config.items() if k != "report"}
    config = {k: v for k, v in config.items() if k != "uncertainty" or v is not None}
    return digest({**config, "run": run})


def digest(what) -> str:
    """SHA-256 of JSON data written canonically (sorted keys, no spaces; anything else as its
    text): the project's one hash of a config."""
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def flatten(config: dict, prefix: str = "") -> dict:
    """{'incentives': {'publication_weight': 0.7}} -> {'incentives.publication_weight': 0.7}."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
