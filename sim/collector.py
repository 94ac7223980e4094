"""Mesa's DataCollector for the model's per-step metrics, without a deep copy of each value.

Mesa's `DataCollector.collect` deep-copies what every model reporter returns, so that a mutable
value cannot change after it was recorded. The model's per-step metrics (`model.metrics`) are
plain numbers, which a deep copy returns unchanged, so this collector appends them as they are:
the same records, at a fraction of the cost per step. Anything else a user adds (other model
reporters, agent reporters, tables) is collected by Mesa as usual.
"""

import mesa


class MetricsCollector(mesa.DataCollector):
    """A `mesa.DataCollector` with one model reporter per name in `model.metrics`."""

    def __init__(self, names):
        self.names = tuple(names)
        super().__init__(model_reporters={k: (lambda m, k=k: m.metrics[k]) for k in self.names})

    def collect(self, model):
        extra = getattr(self, "agent_reporters", None) or getattr(self, "agenttype_reporters", None)
        if extra or len(self.model_reporters) != len(self.names):
            return super().collect(model)
        if hasattr(self, "_collection_steps"):  # Mesa 3.5 records the time of each collection
            self._collection_steps.append(model.time)
        metrics, columns = model.metrics, self.model_vars
        for name in self.names:
            columns[name].append(metrics[name])
