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
returns unchanged, so this collector keeps each step's row as it is and fills its columns (and
the run figures so far) when `model_vars` is first read after it: the same records, in the same
order and with the same sums, and nothing paid by runs that never read them (a study reads
`run_metrics()` and the history). Anything else a user adds (other model reporters, agent
reporters, tables) is collected by Mesa as usual, step by step.
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
        self._so_far: dict[str, float] = {}
        self._steps_added = 0
        self._pending: list[tuple] = []  # rows collected but not yet in the columns
        reporters = {k: (lambda m, k=k: m.metrics[k]) for k in self.step_names}
        reporters |= {k: (lambda m, k=k: self.so_far[k]) for k in self.run_names}
        super().__init__(model_reporters=reporters)

    @property
    def records_times(self) -> bool:
        """Whether this Mesa records when each collection was made (3.5 and later)."""
        return hasattr(self, "_collection_steps")

    @property
    def model_vars(self) -> dict[str, list]:
        """Mesa's columns, one value per collection, filled up to the last one."""
        self._fill_columns()
        return self._model_vars

    @model_vars.setter
    def model_vars(self, columns: dict) -> None:
        self._model_vars = columns

    @property
    def so_far(self) -> dict[str, float]:
        """The run figures of the steps up to the last collection."""
        self._fill_columns()
        return self._so_far

    def collect_opening(self, model) -> None:
        """The row at construction, where `batch_run` reads it right (see the module's doc)."""
        if self.records_times:
            self.collect(model)

    def collect(self, model):
        new_step = model.steps > self._steps_added  # the row at construction is none
        self._steps_added += new_step
        row = (dict(model.metrics), new_step, model.n, model.group_sizes)
        extra = getattr(self, "agent_reporters", None) or getattr(self, "agenttype_reporters", None)
        if extra or len(self.model_reporters) != len(self.step_names) + len(self.run_names):
            self._fill_columns()  # earlier rows first
            self._add_to_totals(*row)
            return super().collect(model)
        if self.records_times:
            self._collection_steps.append(model.time)
        self._pending.append(row)

    def _add_to_totals(self, metrics, new_step, n, group_sizes) -> None:
        if new_step:
            self.totals.add(metrics, self.summed)
        self._so_far = self.catalog.run_figures(self.totals, n, group_sizes)

    def _fill_columns(self) -> None:
        """Put the rows collected since the last read into the columns."""
        pending, self._pending = self._pending, []
        columns = self._model_vars
        for row in pending:
            self._add_to_totals(*row)
            metrics = row[0]
            for name in self.step_names:
                columns[name].append(metrics[name])
            for name in self.run_names:
                columns[name].append(self._so_far[name])
