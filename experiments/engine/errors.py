"""One-line explanations of bad input: unknown keys, wrong types, unknown presets, bad syntax.

Hydra and OmegaConf report these as multi-line messages; `explain` turns any of them (or a
`sim.ParameterError`, already one line) into one line that names the key, the value and what is
allowed, using the schema for the allowed keys.
"""

import re

import yaml
from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from sim.params import EVENT_KEYS, Event, ParameterError

from .schema import unknown_key

EVENT_HAS = f"an event has: {', '.join(EVENT_KEYS)}"


class BadInput(ValueError):
    """Input that cannot run: the message is one line for the user."""


TYPE_WORDS = {
    "Float": "must be a number",
    "Integer": "must be a whole number",
    "bool": "must be true or false",
    "Boolean": "must be true or false",
    "String": "must be text",
}


def wrong_type(err: ValidationError, in_event: bool) -> str:
    """'population.n_researchers = 2.5 must be a whole number' from an OmegaConf error."""
    message = str(err.msg).splitlines()[0] if err.msg else str(err).splitlines()[0]
    match = re.search(r"converted to (\w+)|not a valid (\w+)", message)
    expected = match and TYPE_WORDS.get(match.group(1) or match.group(2))
    value = getattr(err, "value", None)
    key = f"timeline event {err.full_key}" if in_event else err.full_key
    if expected:
        return f"{key} = {value!r} {expected}"
    return f"{key}: {message}"


def chain(exc: BaseException | None) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    out = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def parse_detail(exc: OverrideParseException) -> str:
    """What Hydra's override parser objects to, from its three message layouts."""
    lines = exc.message.splitlines()
    if lines[0].startswith("LexerNoViableAltException: ") and len(lines) > 1 and "^" in lines[1]:
        at = lines[1].index("^") - len("LexerNoViableAltException: ")
        return f"unexpected {exc.override[at]!r} at character {at + 1}; quote the value: KEY='...'"
    if lines[0].startswith("Error parsing override") and len(lines) > 2:
        return lines[1]
    return lines[0]


def explain(exc: BaseException) -> str:
    """One line saying what is wrong with the input that raised `exc`."""
    if isinstance(exc, ParameterError | BadInput):
        return str(exc)
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        return f"unknown {group} preset '{name}'; allowed: {', '.join(sorted(exc.options))}"
    if isinstance(exc, OverrideParseException):
        return f"cannot read override '{exc.override}': {parse_detail(exc)}"
    errors = chain(exc)
    broken_yaml = next((e for e in errors if isinstance(e, yaml.MarkedYAMLError)), None)
    if broken_yaml is not None and broken_yaml.problem_mark is not None:
        mark = broken_yaml.problem_mark
        return (
            f"{mark.name}, line {mark.line + 1}: {broken_yaml.context or ''} "
            f"{broken_yaml.problem or ''}".replace("  ", " ").strip()
        )
    node = next(
        (e for e in errors if isinstance(e, OmegaConfBaseException) and getattr(e, "full_key", "")),
        None,
    )
    if node is not None:
        in_event = getattr(node, "object_type", None) is Event  # keys relative to the event
        if isinstance(node, ConfigKeyError | ConfigAttributeError):
            return unknown_key(node.full_key, in_event)
        if isinstance(node, ValidationError):
            return wrong_type(node, in_event)
        if isinstance(node, MissingMandatoryValue) and in_event:
            return f"{node.full_key} is missing; {EVENT_HAS}"
        detail = str(node.msg).splitlines()[0]
        outer = str(errors[0]).splitlines()[0]
        return f"{outer}: {detail}" if outer != detail else detail
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
