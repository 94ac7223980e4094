"""The research-incentives model: researchers under evaluation rules, oversight and export controls.

One step is a quarter of a year. Before the first recorded year, the model runs a burn-in of
`run.burn_in_years` under the status quo (every policy lever at its default, no dated event),
left out of every output; the run's own levers and events then take effect as a reform would
(docs/ODD.md, section 7). The model runs its mechanisms (one module each, listed in
`MECHANISMS`, in this order) through the hooks of `sim.mechanism.Mechanism` and reads none of
their internals: each step, dated events apply (timeline.py), then every mechanism's `step`
(export controls set each field's input loss, collaborations' chances are set, the evaluation
record opens the quarter's row, and production runs the compiled pass over researchers); at each
evaluation every mechanism's `evaluate` (leaderships turn over, ties follow, researchers are
scored, the lowest leave and newcomers take their posts, the rest imitate better-scoring peers,
funding follows the score). Then each mechanism reports its metrics. See docs/ODD.md for the
full description and docs/extending.md for adding a mechanism.
"""

import copy
import dataclasses
import functools
import gc
import hashlib
import json
import math
import numbers
import warnings
from collections.abc import Iterable

import mesa
import numpy as np

from . import kernels
from .agents import Researcher, state_names
from .careers import Careers
from .collaboration import Collaboration
from .collector import MetricsCollector
from .export_controls import ExportControls
from .funding import Funding
from .guanxi import Guanxi
from .incentives import Incentives
from .leadership import Leadership
from .mechanism import STEP_YEARS, Mechanism, steps_for
from .metrics import Catalog
from .oversight import Oversight
from .params import ParameterError, set_status_quo, with_overrides
from .population import Arrays, Fields, Population
from .production import Production
from .schema import Params, params_class
from .streams import Streams
from .timeline import Timeline

# The order in which every hook runs. Scores come before careers (the lowest leave), careers
# before funding (newcomers are funded), oversight after careers (newcomers' approval chances),
# and export controls before collaboration and production (the quarter's input loss).
MECHANISMS = (
    Population,
    Leadership,
    Guanxi,
    Incentives,
    Careers,
    Oversight,
    ExportControls,
    Collaboration,
    Funding,
    Production,
)


def params_class_of(mechanisms) -> type:
    """The parameters of a list of mechanisms: `Params` plus the groups it lacks."""
    return params_class({g: cls for m in mechanisms for g, cls in m.parameters.items()})


@functools.cache
def catalog_of(mechanisms: tuple) -> Catalog:
    """The metrics a list of mechanisms declares."""
    return Catalog.of(mechanisms)


def parameters() -> type:
    """The parameters of the model's mechanisms (`MECHANISMS`, read when called)."""
    return params_class_of(MECHANISMS)


def catalog() -> Catalog:
    """The metrics of the model's mechanisms (`MECHANISMS`, read when called)."""
    return catalog_of(tuple(MECHANISMS))


METRICS = catalog()  # of the built-in mechanisms


STEP_METRICS = ("year", *METRICS.step_columns)


def whole_seed(seed) -> int | None:
    """The seed as a Python int (numpy integers too: Python's `random.seed` refuses them)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed = {seed!r} must be a whole number >= 0 (or None)")
    return int(seed)


def burn_in_steps(params: Params) -> int:
    """The burn-in's quarterly steps (`run.burn_in_years`; 0 for none)."""
    return round(params.run.burn_in_years / STEP_YEARS)


def spin_up_key(params: Params, seed, mechanisms=MECHANISMS, status_quo=None) -> str:
    """What a model's burn-in depends on, as a digest: runs with the same key share one spin-up.

    The burn-in runs the status quo, so the key is the parameters with every policy lever set to
    its status-quo value, without the dated events and the run's length, plus the seed, the
    mechanisms and, for each parameter a mechanism `reads_ahead`, its largest value over the run
    (state sized for it at the start: the evaluation record holds the longest window).
    """
    status = copy.deepcopy(params)
    burns_in = burn_in_steps(status) > 0
    reform = set_status_quo(status, status_quo) if burns_in else []
    timeline = Timeline(reform + list(status.timeline), type(status))
    ahead = {
        key: timeline.max_value(key, getattr(*_group_and(status, key)))
        for cls in mechanisms
        for key in cls.reads_ahead
    }
    status.timeline, status.run.years = [], 0.0
    record = {
        "params": dataclasses.asdict(status),
        "ahead": ahead,
        "seed": seed,
        "mechanisms": [f"{cls.__module__}.{cls.__qualname__}" for cls in mechanisms],
    }
    text = json.dumps(record, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _group_and(params, key: str) -> tuple:
    group, _, name = key.partition(".")
    return getattr(params, group), name


UNSEEDED = (
    "ResearchModel without a seed: its numbers are neither reproducible nor paired (runs of "
    "different settings do not share their random numbers); pass seed=..., in mesa.batch_run "
    "as parameters={'seed': [...]} (Mesa 3.3) or rng=[...] (Mesa 3.5)"
)


def checked_mechanisms(mechanisms) -> tuple:
    """The mechanism classes to run (`MECHANISMS` when None): distinct `Mechanism` subclasses,
    `Population` among them (it makes the posts, fields and institutions the others read)."""
    if mechanisms is None:
        return MECHANISMS
    if isinstance(mechanisms, str | type) or not isinstance(mechanisms, Iterable):
        raise ParameterError(f"mechanisms = {mechanisms!r} must be a list of Mechanism classes")
    mechanisms = tuple(mechanisms)
    for m in mechanisms:
        if not (isinstance(m, type) and issubclass(m, Mechanism)):
            raise ParameterError(f"mechanisms: {m!r} is not a subclass of sim.Mechanism")
    names = [m.name for m in mechanisms]
    if not any(issubclass(m, Population) for m in mechanisms) or len(set(names)) < len(names):
        raise ParameterError(
            f"mechanisms = {list(mechanisms)!r}: allowed are distinct mechanisms (no name "
            "twice) that include sim.population.Population, as sim.MECHANISMS does"
        )
    return mechanisms


def check_params_argument(name: str, value) -> None:
    """`params` and `status_quo` are a `Params` or None."""
    if value is not None and not isinstance(value, Params):
        raise ParameterError(
            f"{name} = {value!r} must be a sim.Params, such as "
            "sim.with_overrides(**{'oversight.intensity': 0.8}), or None"
        )


class ResearchModel(mesa.Model):
    """Researchers (array-backed Mesa agents) under publication rewards, oversight and controls.

    `ResearchModel(seed=1)` runs with defaults. Levers are keyword arguments, dotted
    (`**{"oversight.intensity": 0.8}`) or by unambiguous name (`n_researchers=500`), so Mesa's
    `batch_run` can sweep them; `params` takes a whole `Params` object (the Hydra layer fills it).
    `mechanisms` replaces the list of mechanism classes (docs/extending.md). `status_quo` is
    a `Params` whose policy levers the burn-in runs (default: the class defaults); a
    calibration passes the candidate point, so that a calibrated lever is part of the history.
    """

    def __init__(
        self,
        params: Params | None = None,
        *,
        seed: int | None = None,
        mechanisms=None,
        status_quo: Params | None = None,
        spun_up: "ResearchModel | None" = None,
        **overrides,
    ):
        if spun_up is not None:
            if (seed, mechanisms, status_quo) != (None, None, None):
                raise ParameterError(
                    "spun_up: the seed, mechanisms and status quo are the spun-up model's own"
                )
            check_params_argument("params", params)
            self._start_from(spun_up, params, overrides)
            return
        self._spin_up(params, seed, mechanisms, status_quo, overrides)
        self._start(self.p, self._reform)

    # --- spin-up and branches ----------------------------------------------------------------
    @classmethod
    def spun_up(
        cls,
        params: Params | None = None,
        *,
        seed: int | None = None,
        mechanisms=None,
        status_quo: Params | None = None,
        **overrides,
    ) -> "ResearchModel":
        """The model after its burn-in, before the run's own levers and events apply.

        `branch` starts runs from it: every run with the same `spin_up_key` shares this state
        (a burn-in runs the status quo, so arms that differ only in policy levers, dated events
        or run length have the same one), as climate models branch runs from one spin-up.
        """
        model = cls.__new__(cls)
        model._spin_up(params, seed, mechanisms, status_quo, overrides)
        return model

    def branch(self, params: Params | None = None, **overrides) -> "ResearchModel":
        """A run from a copy of this spun-up model: the same, value for value, as
        `ResearchModel(params, seed=..., status_quo=...)` with this model's seed and status quo.
        `params` must have this spin-up's key (else ParameterError); this model is unchanged.
        (`ResearchModel(params, spun_up=model)` does the same for a subclass's constructor.)"""
        model = type(self).__new__(type(self))
        model._start_from(self, params, overrides)
        return model

    def _start_from(self, base: "ResearchModel", params, overrides) -> None:
        """Become a copy of spun-up `base`, then start the run of `params`."""
        if not isinstance(base, ResearchModel) or base.running or base.steps:
            raise ParameterError("spun_up must be a spun-up model (ResearchModel.spun_up)")
        run = base._run_params(params, overrides)
        key = spin_up_key(run, base.seed, base._mechanism_classes, base._status_quo)
        if key != base.spin_up_key:
            raise ParameterError(
                "spun_up: these parameters need another spin-up (they differ from it in more "
                "than policy levers, dated events and run.years)"
            )
        super().__init__(rng=base.seed)  # Mesa's own state, untouched by the burn-in
        own = {k: v for k, v in vars(base).items() if k not in vars(self)}
        shared = (base.catalog, base._status_quo)  # never changed by a run: not copied
        memo = {id(base): self, **{id(x): x for x in shared}}
        collecting = gc.isenabled()
        gc.disable()  # the copy makes thousands of objects: half its time went to the collector
        try:
            self.__dict__.update(copy.deepcopy(own, memo))
        finally:
            if collecting:
                gc.enable()
        reform = set_status_quo(copy.deepcopy(run), base._status_quo) if base.burn_in_steps else []
        self._start(run, reform)

    def _run_params(self, params, overrides) -> Params:
        params_type = params_class_of(self._mechanism_classes)
        if params is not None and not isinstance(params, params_type):
            params = params_type(**{g: getattr(params, g) for g in params.__dataclass_fields__})
        return with_overrides(params or params_type(), **overrides)

    def _spin_up(self, params, seed, mechanisms, status_quo, overrides) -> None:
        """Build the model and run its burn-in under the status quo (levers of `status_quo`)."""
        seed = whole_seed(seed)
        if seed is None:
            warnings.warn(UNSEEDED, UserWarning, stacklevel=3)
        mechanisms = checked_mechanisms(mechanisms)
        check_params_argument("params", params)
        check_params_argument("status_quo", status_quo)
        super().__init__(rng=seed)
        self._mechanism_classes = mechanisms
        self._status_quo = status_quo
        self.p = self._run_params(params, overrides)
        self.spin_up_key = spin_up_key(self.p, seed, self._mechanism_classes, status_quo)
        self.seed = seed
        self.streams = Streams(seed)
        self.burn_in_steps = burn_in_steps(self.p)
        self._reform = set_status_quo(self.p, status_quo) if self.burn_in_steps else []
        self.timeline = Timeline(self._reform + list(self.p.timeline), type(self.p))
        self.n = self.p.population.n_researchers
        self.quarter = 0  # quarters begun since the burn-in started
        self.catalog = catalog_of(self._mechanism_classes)
        self.fields = Fields.from_params(self.p)
        self.institutions = Arrays(self.p.population.n_institutions)
        self.researchers = Arrays(self.n)
        self.mechanisms = [cls(self) for cls in self._mechanism_classes]
        for mechanism in self.mechanisms:
            for name, dtype in mechanism.researcher_state.items():
                setattr(self.researchers, name, np.zeros(self.n, dtype))
        self.researcher_state_names = tuple(state_names(self))
        self._run_hook("initialize")
        self._run_hook("refresh")
        self._evaluate(opening=True)
        for _ in range(self.burn_in_steps):
            self._quarter(burning_in=True)
        self.running = False
        self._agent_views_built = False

    def _start(self, run: Params, reform: list) -> None:
        """The run's levers and dated events take effect, as a reform would."""
        self.p.timeline = list(run.timeline)
        self.p.run.years = run.run.years
        self.timeline = Timeline(reform + list(self.p.timeline), type(self.p))
        self.total_steps = steps_for(self.p.run.years)
        if reform and self.timeline.apply_due(-math.inf, self.p):  # the run's levers, now
            self._run_hook("refresh")
        self.running = True
        self.history: dict[str, list] = {name: [] for name in ("year", *self.catalog.step_columns)}
        self.datacollector = MetricsCollector(self.catalog)
        self.metrics: dict[str, float] = {}
        if self.quarter:  # the state after the burn-in, as the row of its last quarter
            self.metrics = self._observe(self.year)
            self.datacollector.collect_opening(self)

    def mechanism(self, name: str):
        """The mechanism called `name` (for inspection; mechanisms never call each other)."""
        return next(m for m in self.mechanisms if m.name == name)

    def _run_hook(self, hook: str, *args) -> None:
        for mechanism in self.mechanisms:
            getattr(mechanism, hook)(*args)

    # --- the user's view -------------------------------------------------------------------
    @property
    def agents(self):
        """All researchers as Mesa agents (built on first access; their state is in arrays)."""
        if not self._agent_views_built:
            self._agent_views_built = True
            for slot in range(self.n):
                Researcher(self, slot)
            # Mesa 3.3 counts agent ids in a class-level dict keyed by model, which would keep
            # every model alive; the views are all made, so the counter is no longer needed.
            getattr(mesa.Agent, "_ids", {}).pop(self, None)
        return super().agents

    @property
    def year(self) -> float:
        """Calendar year at the start of the current step (before any, of the first)."""
        return self._burn_in_start + max(self.quarter - 1, 0) * STEP_YEARS

    @property
    def year_end(self) -> float:
        """Calendar year at the end of the current step (before any, of the first)."""
        return self._burn_in_start + self.quarter * STEP_YEARS

    @property
    def _burn_in_start(self) -> float:
        return self.p.run.start_year - self.burn_in_steps * STEP_YEARS

    # --- one quarter -----------------------------------------------------------------------
    def step(self):
        """One recorded quarter (the burn-in's quarters ran when the model was built)."""
        self._quarter()
        self._record_metrics()
        self.datacollector.collect(self)
        if self.steps >= self.total_steps:
            self.running = False

    def _quarter(self, burning_in: bool = False) -> None:
        # One hold of Ctrl-C and SIGTERM for the quarter's compiled calls, which then skip
        # their own (kernels.held): a signal takes effect when the quarter ends.
        with kernels.signals_held():
            self.quarter += 1
            if not burning_in and self.timeline.apply_due(self.year, self.p):
                self._run_hook("refresh")
            self._run_hook("step")
            if self.quarter % steps_for(self.p.incentives.evaluation_interval_years) == 0:
                self._evaluate(opening=False)

    def _evaluate(self, opening: bool) -> None:
        """Every mechanism's evaluation; `opening` is the one before the first step, which sets
        the first scores and funding while no leadership or career turns over."""
        self._run_hook("evaluate", opening)

    def replace(self, leavers: np.ndarray) -> None:
        """Newcomers take the posts `leavers`: every mechanism sets its state for them."""
        self._run_hook("replace", leavers)

    # --- outputs ---------------------------------------------------------------------------
    def _observe(self, year: float) -> dict:
        """Every step metric now, as the row of the quarter that began at `year`."""
        values: dict = {}
        self._run_hook("observe", values)
        return self.catalog.step_values(year, values, self)

    def _record_metrics(self) -> None:
        self.metrics = self._observe(self.year)
        for name, value in self.metrics.items():
            self.history[name].append(value)

    def run(self) -> "ResearchModel":
        """Run all `run.years` (Mesa's `run_model` does the same); return the model."""
        while self.running:
            self.step()
        return self

    def timeseries(self):
        """One row per step: step, year and every step metric (a pandas DataFrame)."""
        import pandas as pd

        df = pd.DataFrame(self.history)
        df.insert(0, "step", np.arange(1, len(df) + 1))
        return df

    def run_metrics(self) -> dict[str, float]:
        """Whole-run figures (sim.metrics.Run declarations): rates per researcher-year, sums,
        time means and final values."""
        return self.catalog.run_values(self.history, self.n, self.group_sizes)
