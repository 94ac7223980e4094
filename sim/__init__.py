"""An agent-based model of research incentives (Mesa): `from sim import ResearchModel`."""

from .agents import Researcher
from .mechanism import STEP_YEARS, Mechanism
from .metrics import Run, Step
from .model import MECHANISMS, METRICS, STEP_METRICS, ResearchModel
from .params import Event, ParameterError, parameter_table, validate, with_overrides
from .schema import Params

__all__ = [
    "Event",
    "MECHANISMS",
    "METRICS",
    "Mechanism",
    "ParameterError",
    "Params",
    "ResearchModel",
    "Researcher",
    "Run",
    "STEP_METRICS",
    "STEP_YEARS",
    "Step",
    "parameter_table",
    "validate",
    "with_overrides",
]
