"""The built-in model's parameters: every mechanism's group, assembled into `Params`.

Each mechanism declares its parameter group in its own module with `sim.params.param` (for
example `OversightParams` in oversight.py, named in its `parameters`); the run's own settings,
which no mechanism owns, are `RunParams` here. `Params` puts the groups in the order of the
parameter reference (docs/ODD.md) and of every table; `params_class` extends it by the groups of
mechanisms that are not built in (docs/extending.md).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import ClassVar

from .careers import CareersParams
from .collaboration import CollaborationParams
from .export_controls import ExportControlsParams
from .guanxi import GuanxiParams
from .incentives import IncentivesParams
from .leadership import LeadershipParams
from .oversight import OversightParams
from .params import Event, fixed_at_start, groups_of, param
from .population import FieldsParams, PopulationParams
from .production import ProductionParams


@dataclass
class RunParams:
    """The run itself, read by the model (sim/model.py), not by any one mechanism."""

    # Read only when the model is built: a timeline event may not change these.
    fixed_at_start: ClassVar[tuple[str, ...]] = ("start_year", "years", "burn_in_years")

    start_year: float = param(
        2015.0,
        1950.0,
        2100.0,
        unit="calendar year",
        doc="Calendar year of the first step",
        label="start year",
        short="start",
    )
    years: float = param(
        20.0,
        0.25,
        200.0,
        unit="years",
        doc="Run length; one step is a quarter",
        label="run length",
        short="years",
    )
    burn_in_years: float = param(
        40.0,
        0.0,
        500.0,
        unit="years",
        doc="Years run before start_year and left out of every output, so that projects, "
        "records and the population's selection reach their steady state",
        label="burn-in",
        short="burn-in",
    )


@dataclass
class Params:
    run: RunParams = field(default_factory=RunParams)
    population: PopulationParams = field(default_factory=PopulationParams)
    fields: FieldsParams = field(default_factory=FieldsParams)
    incentives: IncentivesParams = field(default_factory=IncentivesParams)
    guanxi: GuanxiParams = field(default_factory=GuanxiParams)
    leadership: LeadershipParams = field(default_factory=LeadershipParams)
    oversight: OversightParams = field(default_factory=OversightParams)
    export_controls: ExportControlsParams = field(default_factory=ExportControlsParams)
    production: ProductionParams = field(default_factory=ProductionParams)
    collaboration: CollaborationParams = field(default_factory=CollaborationParams)
    careers: CareersParams = field(default_factory=CareersParams)
    timeline: list[Event] = field(default_factory=list)


GROUPS = groups_of(Params)
FIXED_AT_START = fixed_at_start(Params)


def params_class(groups: dict[str, type] | None = None) -> type:
    """`Params`, extended by parameter groups that are not in it yet (a new mechanism's
    `parameters`, sim/mechanism.py): {group name: dataclass of `param(...)` fields}."""
    extra = {g: cls for g, cls in (groups or {}).items() if g not in Params.__dataclass_fields__}
    if not extra:
        return Params
    return _extended(tuple(extra.items()))


@functools.cache
def _extended(extra: tuple) -> type:
    fields_ = [(g, cls, field(default_factory=cls)) for g, cls in extra]
    return dataclasses.make_dataclass("Params", fields_, bases=(Params,))
