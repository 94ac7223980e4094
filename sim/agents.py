"""Researchers as Mesa agents: light views onto the model's arrays.

The state of all researchers lives in numpy arrays (`model.researchers`) so that the mechanisms
run vectorized. `model.agents` still lists one `Researcher` per post, built on first access only,
whose attributes read (and write) those arrays, so Mesa's AgentSet, DataCollector agent reporters
and visualization work as usual.
"""

import mesa

ATTRIBUTES = (
    "person_id",
    "field",
    "institution",
    "ability",
    "exploratory_share",
    "ties",
    "foreign",
    "funding",
    "score",
    "project_active",
    "project_progress",
    "project_effort",
    "papers",
    "impact",
)


class Researcher(mesa.Agent):
    """One research post; `person_id` changes when its holder leaves and is replaced."""

    def __init__(self, model, slot: int):
        super().__init__(model)
        self.slot = slot

    @property
    def field_name(self) -> str:
        return self.model.fields.names[self.field]

    def state(self) -> dict:
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def __repr__(self) -> str:
        return f"Researcher(slot={self.slot}, {self.state()})"


FIXED = ("field", "institution")  # a post's field and institution never change


def _view(name):
    def get(self):
        return getattr(self.model.researchers, name)[self.slot].item()

    def set_(self, value):
        getattr(self.model.researchers, name)[self.slot] = value

    doc = f"The researcher's {name.replace('_', ' ')}."
    if name in FIXED:
        return property(get, doc=doc + " Fixed with the post (read-only).")
    return property(get, set_, doc=doc)


for _name in ATTRIBUTES:
    setattr(Researcher, _name, _view(_name))
