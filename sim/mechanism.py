"""The mechanism interface: one module per mechanism, each declaring everything it is in one place.

A mechanism is a subclass of `Mechanism` that sets:
- `name`: its random stream's key (streams.py); by convention its parameter group's name;
- `parameters`: its parameter groups, {group name: dataclass of `sim.params.param` fields},
  each declared in the mechanism's own module (a group that `sim.schema.Params` does not have
  yet is added to the model's parameters);
- `researcher_state`: the researcher arrays it owns, name -> numpy dtype (they live in
  `model.researchers`, one entry per post, and are shown on each Mesa agent);
- `metrics`: what it reports (`sim.metrics.Step` and `Run` declarations);
- `reads_ahead`: parameters (dotted) whose largest value over the run, dated events
  included, sizes state it builds at `initialize` (runs branched from one spin-up must agree
  on it: `sim.model.spin_up_key`);
and overrides the hooks it needs, each called for every mechanism in the model's declared order
(`sim.model.MECHANISMS`):
- `initialize()`: draw the initial state it owns;
- `refresh()`: recompute what follows from parameters and slowly changing state; called after
  `initialize`, after every evaluation and after dated events change parameters;
- `step()`: one quarter;
- `evaluate(opening)`: one evaluation (scores, funding, careers); `opening` is the one
  before the first step;
- `replace(leavers)`: newcomers take the posts of `leavers`: set their state;
- `observe(values)`: put this quarter's value of each of its step metrics into `values`.

Mechanisms talk through the model's shared arrays (`model.researchers`, `model.institutions`,
`model.fields`), never through each other's attributes. Random numbers come from `self.rng`, the
mechanism's own stream, always in the same shapes whatever the levers (common random numbers).
See docs/extending.md for adding one.
"""

from __future__ import annotations

import numpy as np

STEP_YEARS = 0.25  # one step is a quarter of a year


def steps_for(years: float) -> int:
    """Whole steps (at least one) in a span of `years`."""
    return max(1, round(years / STEP_YEARS))


class Mechanism:
    name: str = ""
    parameters: dict[str, type] = {}
    researcher_state: dict[str, type] = {}
    metrics: tuple = ()
    reads_ahead: tuple[str, ...] = ()

    def __init__(self, model):
        self.model = model
        self.p = model.p  # all parameters: a rule may read another group's (documented)
        self.rng: np.random.Generator = model.streams[self.name]

    def initialize(self) -> None:
        """Draw the initial state this mechanism owns."""

    def refresh(self) -> None:
        """Recompute what follows from parameters and slowly changing state."""

    def step(self) -> None:
        """One quarter."""

    def evaluate(self, opening: bool) -> None:
        """One evaluation; `opening` is the one before the first step, which sets the first
        scores and funding while no leadership or career turns over."""

    def replace(self, leavers: np.ndarray) -> None:
        """Newcomers take the posts `leavers`: set the state this mechanism owns for them."""

    def observe(self, values: dict) -> None:
        """This quarter's values of this mechanism's step metrics, put into `values`."""
