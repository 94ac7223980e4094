"""The parameter machinery: typed parameters with defaults, units, ranges and sources.

Every parameter is a dataclass field made with `param(...)`, which records its allowed range,
unit, meaning and source in the field's metadata. Each mechanism declares its group of them in
its own module (`parameters = {...}`, sim/mechanism.py); sim/schema.py assembles the built-in
groups into `Params`. A group may also declare `fixed_at_start` (the names the model reads only
when it is built) and a method `check(group)` for rules across its values. `validate` checks a
whole parameters object and raises `ParameterError` naming the parameter, the value and what is
allowed. The Hydra layer and the parameter reference in `docs/ODD.md` are both generated from
the groups, so each group is the single source of truth for its levers. The functions here take
the parameters' class (`params_type`: `Params` extended by other mechanisms' groups) and use the
built-in `Params` without one.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter has an unknown name, a wrong type or a value out of its allowed range."""


def param(
    default,
    lo=None,
    hi=None,
    *,
    unit: str = "",
    doc: str = "",
    source: str = "",
    label: str = "",
    short: str = "",
    plausible: tuple[float, float] | None = None,
    plausible_source: str = "",
    policy: bool = False,
    channel_of: str = "",
):
    """A dataclass field carrying its allowed range [lo, hi], unit, meaning and source.

    `label` and `short` name a lever in tables and figures (derived from the name when empty);
    `plausible` is the range an uncertainty analysis samples, narrower than [lo, hi], with
    `plausible_source` saying where it comes from. A `policy` parameter is one that a reform
    changes: during the burn-in it keeps the status quo, its default unless the model is given
    another (`set_status_quo`). A switch with `channel_of` turns one channel of that lever (a
    field of the same group) on or off, so its effect can be decomposed by channel.
    """
    meta = {
        "lo": lo,
        "hi": hi,
        "unit": unit,
        "doc": doc,
        "source": source or ASSUMPTION,
        "label": label,
        "short": short,
        "plausible": plausible,
        "plausible_source": plausible_source,
        "policy": policy,
        "channel_of": channel_of,
    }
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


ASSUMPTION = "Modelling assumption, set by hand, not fitted to data (docs/ODD.md, section 7)"
HAN = "Han Xueying's account (seed article, 2024)"
ARES = "Anna Ares's account of MERICS research (seed article, 2024)"
SEED_EXPORT = "October 7, 2022 US export controls (seed article, 2024)"
SEED_TECHNOCRATS = "Technocrat shares of the Central Committee (seed article, 2022; Li 2001)"
CALIBRATION = "ABC-SMC with pyabc (docs/calibration.md, results/calibration/)"


def fitted(targets: str) -> str:
    """The source of a calibrated parameter: the targets it was fitted to."""
    return f"Fitted to {targets} by {CALIBRATION}"


# Sources of plausible ranges (sampled by the uncertainty analysis, docs/sensitivity.md).
ACCEPTED = (
    "The 5-95% range of the calibration's weighted posterior, widened to hold the fitted "
    "point (docs/calibration.md)"
)
UNPINNED = (
    "The calibration's fitted point, though no fitting target pins it "
    "(results/calibration/identifiability.md); the posterior predictive carries its spread "
    "(docs/calibration.md)"
)
PROVISIONAL = "Provisional: a judgement around the default, until calibration fits it"
REDNER = (
    "Redner 1998: papers with x citations fall off as x^-3, a Pareto tail index near 2; "
    "provisional range around it"
)
WVS = (
    "Wang, Veugelers & Stephan 2017: novel papers' advantage shows only in citation windows "
    "longer than 3 years (delayed recognition); provisional"
)
ROYLE = (
    "Royle, Coles, Williams & Evans 2007: almost 20% of Chinese articles (2004) were "
    "internationally co-authored, more since; provisional"
)


@dataclass
class Event:
    """At calendar year `year`, set the parameter `key` (e.g. 'oversight.intensity') to `value`.

    All three are required: an event lacking one is refused, never completed with a default."""

    year: float = param(dataclasses.MISSING, 1950.0, 2100.0, unit="calendar year")
    key: str = param(dataclasses.MISSING, doc="Dotted parameter name")
    value: Any = param(dataclasses.MISSING, doc="New value")


EVENT_KEYS = tuple(f.name for f in dataclasses.fields(Event))


def as_event(event, index: int) -> Event:
    """`timeline[index]` as an `Event`: an `Event`, or a mapping with exactly its keys."""
    if isinstance(event, Event):
        return event
    allowed = f"an event has: {', '.join(EVENT_KEYS)}"
    if not isinstance(event, Mapping):
        raise ParameterError(f"timeline[{index}] = {event!r} must be a mapping; {allowed}")
    unknown = [str(k) for k in event if k not in EVENT_KEYS]
    if unknown:
        raise ParameterError(f"unknown key '{unknown[0]}' in timeline[{index}]; {allowed}")
    missing = [k for k in EVENT_KEYS if k not in event]
    if missing:
        raise ParameterError(
            f"timeline[{index}] = {dict(event)!r} lacks {', '.join(missing)}; {allowed}"
        )
    return Event(**event)


def as_timeline(events) -> list[Event]:
    """A timeline (a list of events, each an `Event` or a mapping) as a list of `Event`s."""
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise ParameterError(f"timeline = {events!r} must be a list of events")
    return [as_event(e, i) for i, e in enumerate(events)]


def _or_built_in(params_type: type | None = None) -> type:
    """`params_type`, or the built-in model's `Params` (sim/schema.py) when it is None.

    Looked up when called, never imported at the top: schema.py gathers the groups that the
    mechanism modules declare, and each of those modules imports this one."""
    if params_type is not None:
        return params_type
    from .schema import Params

    return Params


def groups_of(params_type: type | None = None) -> list[str]:
    return [f.name for f in dataclasses.fields(_or_built_in(params_type)) if f.name != "timeline"]


def group_fields(group: str, params_type: type | None = None) -> list[dataclasses.Field]:
    return list(dataclasses.fields(group_class(group, params_type)))


def group_class(group: str, params_type: type | None = None) -> type:
    """The dataclass of parameter group `group`."""
    return _or_built_in(params_type).__dataclass_fields__[group].default_factory


def parameter_table(params_type: type | None = None) -> list[dict]:
    """One row per parameter: dotted name, default, range, unit, meaning, source."""
    rows = []
    for group in groups_of(params_type):
        for f in group_fields(group, params_type):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append({"name": f"{group}.{f.name}", "default": default, **f.metadata})
    return rows


def policy_levers(params_type: type | None = None) -> list[str]:
    """The dotted names of the parameters that a reform changes (`param(policy=True)`)."""
    return [
        f"{group}.{f.name}"
        for group in groups_of(params_type)
        for f in group_fields(group, params_type)
        if f.metadata.get("policy")
    ]


def set_status_quo(params, defaults=None) -> list[Event]:
    """Set every policy lever of `params` to its value in `defaults` (the class defaults when
    None), in place, and return the events that set them back to the run's values (dated -inf:
    before any other event)."""
    defaults, restore = defaults or type(params)(), []
    for key in policy_levers(type(params)):
        group, name = key.split(".")
        value = getattr(getattr(params, group), name)
        default = getattr(getattr(defaults, group), name)
        if value != default:
            restore.append(Event(year=-math.inf, key=key, value=value))
            setattr(getattr(params, group), name, default)
    return restore


def _flat_names(params_type: type) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for group in groups_of(params_type):
        for f in group_fields(group, params_type):
            names.setdefault(f.name, []).append(f"{group}.{f.name}")
    return names


def resolve_key(key: str, params_type: type | None = None) -> tuple[str, str]:
    """'oversight.intensity' or an unambiguous bare name ('intensity') -> (group, name)."""
    groups = groups_of(params_type)
    if "." in key:
        group, _, name = key.partition(".")
        if group not in groups:
            raise ParameterError(
                f"unknown parameter group '{group}' in '{key}'; allowed: {', '.join(groups)}"
            )
        allowed = [f.name for f in group_fields(group, params_type)]
        if name not in allowed:
            raise ParameterError(f"unknown parameter '{key}'; {group} has: {', '.join(allowed)}")
        return group, name
    matches = _flat_names(params_type).get(key, [])
    if len(matches) == 1:
        return tuple(matches[0].split("."))  # type: ignore[return-value]
    if matches:
        raise ParameterError(f"ambiguous parameter '{key}'; use one of: {', '.join(matches)}")
    raise ParameterError(
        f"unknown parameter '{key}'; use 'group.name' with group one of: {', '.join(groups)}"
    )


def field_of(key: str, params_type: type | None = None) -> tuple[str, str, dataclasses.Field]:
    """(group, name, dataclass field) of a dotted or bare parameter name."""
    group, name = resolve_key(key, params_type)
    return group, name, next(f for f in group_fields(group, params_type) if f.name == name)


def with_overrides(params=None, **overrides):
    """A validated copy of `params` (the built-in defaults when None) with overrides given as
    dotted or unambiguous bare names."""
    out = dataclasses.replace(params or _or_built_in()())
    params_type = type(out)
    for group in groups_of(params_type):
        setattr(out, group, dataclasses.replace(getattr(out, group)))
    spelled: dict[tuple[str, str], str] = {}
    for key, value in overrides.items():
        if key == "timeline":
            out.timeline = value
            continue
        group, name = resolve_key(key, params_type)
        if (group, name) in spelled:
            raise ParameterError(
                f"{group}.{name} is given twice, as '{spelled[group, name]}' and '{key}'; "
                "allowed: once"
            )
        spelled[group, name] = key
        setattr(getattr(out, group), name, value)
    validate(out)
    return out


def check_value(dotted: str, f: dataclasses.Field, value) -> Any:
    """Check one value against its field's type and range; return it coerced to that type."""
    expected = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if expected == "bool":  # numpy's scalars are accepted wherever Python's are
        if not isinstance(value, bool | np.bool_):
            raise ParameterError(f"{dotted} = {value!r} must be true or false")
        return bool(value)
    if expected in ("int", "float"):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ParameterError(f"{dotted} = {value!r} must be a number ({expected})")
        if expected == "int" and (not math.isfinite(value) or float(value) != int(value)):
            raise ParameterError(f"{dotted} = {value!r} must be a whole number")
        value = int(value) if expected == "int" else float(value)
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        if value != value or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ParameterError(f"{dotted} = {value!r} is out of range; allowed: [{lo}, {hi}]")
        return value
    if expected.startswith("list"):
        if not isinstance(value, list | tuple):
            raise ParameterError(f"{dotted} = {value!r} must be a list")
        item = expected[expected.index("[") + 1 : -1]
        item_field = field(metadata=f.metadata)
        item_field.type = item
        return [check_value(f"{dotted}[{i}]", item_field, v) for i, v in enumerate(value)]
    if expected == "str":
        if not isinstance(value, str):
            raise ParameterError(f"{dotted} = {value!r} must be text")
    return value


def fixed_at_start(params_type: type | None = None) -> tuple[str, ...]:
    """The dotted names of the parameters the model reads only when it is built, as each group
    declares them (its class attribute `fixed_at_start`, a tuple of names): a timeline event
    for one of them would change nothing while the model reported the new value, so `validate`
    refuses such events."""
    return tuple(
        f"{group}.{name}"
        for group in groups_of(params_type)
        for name in getattr(group_class(group, params_type), "fixed_at_start", ())
    )


def validate(params):
    """Check every value's type and range, and each group's own rules across its values (its
    method `check(group)`, if it has one); coerce ints and floats."""
    params_type = type(params)
    for group in groups_of(params_type):
        obj = getattr(params, group)
        for f in group_fields(group, params_type):
            setattr(obj, f.name, check_value(f"{group}.{f.name}", f, getattr(obj, f.name)))
    for group in groups_of(params_type):
        if hasattr(getattr(params, group), "check"):
            getattr(params, group).check(group)
    params.timeline = as_timeline(params.timeline)
    year, key, _ = dataclasses.fields(Event)
    fixed = fixed_at_start(params_type)
    for i, event in enumerate(params.timeline):
        check_value(f"timeline[{i}].key", key, event.key)
        group, name, f = field_of(event.key, params_type)
        if f"{group}.{name}" in fixed:
            raise ParameterError(
                f"timeline[{i}] {event.key}: cannot change during a run (the model reads it "
                "once, when it is built); set it directly instead"
            )
        check_value(f"timeline[{i}].year", year, event.year)
        event.value = check_value(f"timeline[{i}] {event.key}", f, event.value)
    return params


def _metadata(key: str, params_type: type) -> tuple[str, dict]:
    _, name, f = field_of(key, params_type)
    return name, f.metadata


def lever_label(key: str, params_type: type | None = None) -> str:
    """A parameter's label (its `label`, else its name in words) with its unit."""
    name, meta = _metadata(key, params_type)
    label = meta.get("label") or name.replace("_", " ")
    return f"{label} ({meta['unit']})" if meta.get("unit") else label


def lever_short(key: str, params_type: type | None = None) -> str:
    """A parameter's short name for legends and arm names."""
    name, meta = _metadata(key, params_type)
    return meta.get("short") or name.replace("_", " ")
