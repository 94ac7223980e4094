"""Researchers as Mesa agents: light views onto the model's arrays.

The state of all researchers lives in numpy arrays (`model.researchers`), one per name that a
mechanism declares in its `researcher_state`, so that the mechanisms run vectorized.
`model.agents` still lists one `Researcher` per post, built on first access only, whose
attributes read (and write) those arrays, so Mesa's AgentSet, DataCollector agent reporters and
visualization work as usual.
"""

import mesa

FIXED = ("field", "institution")  # a post's field and institution never change


def state_names(model) -> list[str]:
    """Every researcher array the model's mechanisms declare, in their order."""
    return [name for m in model.mechanisms for name in m.researcher_state]


class Researcher(mesa.Agent):
    """One research post; `person_id` changes when its holder leaves and is replaced."""

    def __init__(self, model, slot: int):
        super().__init__(model)
        self.slot = slot

    def __getattr__(self, name):
        model = self.__dict__.get("model")
        if model is not None and name in model.researcher_state_names:
            return getattr(model.researchers, name)[self.slot].item()
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        model = self.__dict__.get("model")
        if model is not None and name in model.researcher_state_names:
            if name in FIXED:
                raise AttributeError(f"{name} is fixed with the post (read-only)")
            getattr(model.researchers, name)[self.slot] = value
        else:
            super().__setattr__(name, value)

    @property
    def field_name(self) -> str:
        return self.model.fields.names[self.field]

    def state(self) -> dict:
        return {name: getattr(self, name) for name in self.model.researcher_state_names}

    def __repr__(self) -> str:
        return f"Researcher(slot={self.slot}, {self.state()})"
