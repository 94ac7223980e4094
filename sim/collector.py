"""Mesa's DataCollector for the model: each step's metrics, and the run's figures so far.

One model reporter per step metric (`model.metrics`: the quarter's counts, states and rates) and
one per run metric (the names of `run_metrics()`): its value over the steps so far, from running
totals, so that the last row of `mesa.batch_run` holds the run's figures (`breakthrough_rate`
per 1,000 researcher-years over the run, `total_breakthroughs`, ...) without summing anything.
The run figures so far are `run_metrics()` of the history so far, up to floating-point rounding
(their sums are running sums).

As Mesa's own models do, it also collects once when the model is built (the state after the
burn-in, Step 0 of `batch_run`), where Mesa's `batch_run` reads such a row right: Mesa 3.5 and
later look up the time of each collection. Mesa 3.3's `batch_run` takes row k for step k and
stops at the last step minus one, so a row at construction would push the last quarter out
(Mesa issue 2514); there the collector keeps one row per quarter, which that `batch_run` labels
Step 0 to N - 1.

Mesa's `DataCollector.collect` deep-copies what every model reporter returns, so that a mutable
value cannot change after it was recorded. These values are plain numbers, which a deep copy
returns unchanged, so this collector appends them as they are: the same records, at a fraction
of the cost per step. Anything else a user adds (other model reporters, agent reporters, tables)
is collected by Mesa as usual.
"""

import mesa

from .metrics import Catalog, Totals


class MetricsCollector(mesa.DataCollector):
    """A `mesa.DataCollector` with a model reporter per step metric and per run metric."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.step_names = ("year", *catalog.step_columns)
        self.run_names = tuple(catalog.run_names)
        self.summed = catalog.summed()
        self.totals = Totals(sums=dict.fromkeys(self.summed, 0.0))
        self.so_far: dict[str, float] = {}
        reporters = {k: (lambda m, k=k: m.metrics[k]) for k in self.step_names}
        reporters |= {k: (lambda m, k=k: self.so_far[k]) for k in self.run_names}
        super().__init__(model_reporters=reporters)

    @property
    def records_times(self) -> bool:
        """Whether this Mesa records when each collection was made (3.5 and later)."""
        return hasattr(self, "_collection_steps")

    def collect_opening(self, model) -> None:
        """The row at construction, where `batch_run` reads it right (see the module's doc)."""
        if self.records_times:
            self.collect(model)

    def collect(self, model):
        if model.steps > self.totals.steps:  # a new step (the row at construction is none)
            self.totals.add(model.metrics, self.summed)
        self.so_far = self.catalog.run_figures(self.totals, model.n, model.group_sizes)
        extra = getattr(self, "agent_reporters", None) or getattr(self, "agenttype_reporters", None)
        if extra or len(self.model_reporters) != len(self.step_names) + len(self.run_names):
            return super().collect(model)
        if self.records_times:
            self._collection_steps.append(model.time)
        columns = self.model_vars
        for name in self.step_names:
            columns[name].append(model.metrics[name])
        for name in self.run_names:
            columns[name].append(self.so_far[name])
