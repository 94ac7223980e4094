"""Dated events: a scenario changes levers at given calendar years.

Each `Event(year, key, value)` sets parameter `key` (dotted, e.g. 'oversight.intensity') to
`value` at the first step that starts at or after `year`. Events are validated with the other
parameters before the run. Scenarios built from the seed articles live in `configs/scenario/`.
"""

from .params import check_value, field_of, resolve_key


class Timeline:
    def __init__(self, events, params_type: type | None = None):
        self.pending = sorted(events, key=lambda e: e.year)
        self.params_type = params_type

    def apply_due(self, year: float, params) -> list:
        """Apply every event due by `year` to params (in place); return the applied events."""
        due = [e for e in self.pending if e.year <= year + 1e-9]
        self.pending = self.pending[len(due) :]
        for event in due:
            group, name, f = field_of(event.key, type(params))
            setattr(getattr(params, group), name, check_value(event.key, f, event.value))
        return due

    def max_value(self, key: str, current: float) -> float:
        """The largest value `key` takes over the run: now or in a pending event."""
        target = tuple(key.split("."))
        keys = [resolve_key(e.key, self.params_type) for e in self.pending]
        return max(
            [current] + [e.value for e, k in zip(self.pending, keys, strict=True) if k == target]
        )
