"""An agent-based model of research incentives (Mesa): `from sim import ResearchModel`."""

from .agents import Researcher
from .model import STEP_METRICS, STEP_YEARS, ResearchModel
from .params import Event, ParameterError, Params, parameter_table, validate, with_overrides

__all__ = [
    "Event",
    "ParameterError",
    "Params",
    "ResearchModel",
    "Researcher",
    "STEP_METRICS",
    "STEP_YEARS",
    "parameter_table",
    "validate",
    "with_overrides",
]
