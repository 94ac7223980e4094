"""The population: fields, institutions and the researchers' posts, people and ability.

Source: DESIGN section 2 (researchers with a field, an institution and heavy-tailed ability);
heavy-tailed productivity as in Smaldino & McElreath 2016.

Posts are fixed: when a researcher leaves, a newcomer takes the same post (field, institution),
so the population size is constant and arrays never grow. `person_id` tells people apart.

Rules (DESIGN section 2): ability is log-normal with mean-log 0 and s.d. `ability_sigma`
(heavy-tailed), at the start and for every newcomer; fields are drawn by `fields.shares`;
institutions uniformly, each with a log-normal funding pool (`institution_wealth_sigma`, mean 1).
At each evaluation every field's funding weight, and every institution's weight for its
priority-field posts, start at 1; other mechanisms multiply them (self-reliance per field,
centralization per institution) before funding is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import ndtri

from . import streams
from .mechanism import Mechanism
from .metrics import GROUPS
from .params import ACCEPTED, ARES, PROVISIONAL, SEED_EXPORT, ParameterError, fitted, param


@dataclass
class PopulationParams:
    # Read only when the model is built: a timeline event may not change these.
    fixed_at_start: ClassVar[tuple[str, ...]] = (
        "n_researchers",
        "n_institutions",
        "institution_wealth_sigma",
        "initial_exploratory_share",
        "initial_exploratory_spread",
    )

    n_researchers: int = param(
        2000,
        10,
        10_000_000,
        unit="researchers",
        doc="Researchers (constant: every exit is replaced)",
        label="researchers",
        short="researchers",
    )
    n_institutions: int = param(
        40, 1, 100_000, unit="institutions", doc="Universities and research institutes"
    )
    ability_sigma: float = param(
        0.772,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of log-normal (heavy-tailed) ability",
        source=fitted("breakthrough_share, indexed_papers_per_researcher"),
        plausible=(0.368, 0.968),
        plausible_source=ACCEPTED,
    )
    institution_wealth_sigma: float = param(
        0.5,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of institutions' log-normal funding pools",
        plausible=(0.2, 1.0),
        plausible_source=PROVISIONAL,
    )
    initial_exploratory_share: float = param(
        0.35,
        0.0,
        1.0,
        unit="share of research time",
        doc="Mean initial share of time on exploratory work",
        plausible=(0.15, 0.55),
        plausible_source=PROVISIONAL,
    )
    initial_exploratory_spread: float = param(
        0.15,
        0.0,
        1.0,
        unit="share",
        doc="Spread of initial exploratory shares",
        plausible=(0.05, 0.3),
        plausible_source=PROVISIONAL,
    )


@dataclass
class FieldsParams:
    # Read only when the model is built: a timeline event may not change these.
    fixed_at_start: ClassVar[tuple[str, ...]] = (
        "names",
        "shares",
        "export_exposure",
        "priority",
        "exposed_threshold",
    )

    names: list[str] = param(
        [
            "semiconductors",
            "artificial_intelligence",
            "aerospace",
            "biotechnology",
            "materials_science",
            "environmental_science",
            "pure_mathematics",
            "social_sciences",
        ],
        doc="Research fields",
        source=SEED_EXPORT,
    )
    shares: list[float] = param(
        [0.12, 0.14, 0.08, 0.16, 0.14, 0.12, 0.10, 0.14],
        0.0,
        1.0,
        unit="share of researchers",
        doc="Population share of each field (weights: divided by their sum)",
    )
    export_exposure: list[float] = param(
        [1.0, 0.9, 0.6, 0.3, 0.6, 0.1, 0.0, 0.0],
        0.0,
        1.0,
        unit="0..1",
        doc="Dependence on foreign inputs hit by export controls",
        source=SEED_EXPORT,
    )
    priority: list[bool] = param(
        [True, True, True, True, False, False, False, False],
        doc="National priority ('core technologies') under self-reliance",
        source=f"{ARES}; aerospace, semiconductors, biotechnology named in the 2022 seed",
    )
    exposed_threshold: float = param(
        0.5, 0.0, 1.0, unit="0..1", doc="Exposure at or above which a field counts as 'exposed'"
    )

    def check(self, group: str) -> None:
        """One entry per field in every list, distinct names, shares with a positive sum."""
        n = len(self.names)
        for name in ("shares", "export_exposure", "priority"):
            if len(getattr(self, name)) != n:
                raise ParameterError(
                    f"{group}.{name} has {len(getattr(self, name))} entries; "
                    f"allowed: one per field in {group}.names ({n})"
                )
        twice = sorted({name for name in self.names if self.names.count(name) > 1})
        if twice:
            raise ParameterError(f"{group}.names has '{twice[0]}' twice; allowed: distinct names")
        if n == 0 or sum(self.shares) <= 0:
            raise ParameterError(f"{group}.shares = {self.shares} must have a positive sum")


@dataclass
class Fields:
    """Per field: exposure to export controls, national priority, and two arrays other
    mechanisms set: the input loss of this quarter and the funding weight of this evaluation."""

    names: list[str]
    exposure: np.ndarray
    priority: np.ndarray
    exposed: np.ndarray
    input_loss: np.ndarray
    funding_weight: np.ndarray

    @classmethod
    def from_params(cls, p):
        f = p.fields
        exposure = np.asarray(f.export_exposure, dtype=float)
        return cls(
            names=list(f.names),
            exposure=exposure,
            priority=np.asarray(f.priority, dtype=bool),
            exposed=exposure >= f.exposed_threshold,
            input_loss=np.zeros(exposure.size),
            funding_weight=np.ones(exposure.size),
        )

    def group_masks(self) -> dict[str, np.ndarray]:
        """Which fields belong to each field group (sim.metrics.GROUPS)."""
        masks = {
            "exposed": self.exposed,
            "unexposed": ~self.exposed,
            "priority": self.priority,
            "nonpriority": ~self.priority,
        }
        return {g: masks[g] for g in GROUPS}


class Arrays:
    """A plain holder of arrays, one entry per researcher (or institution): the shared state."""

    def __init__(self, n: int):
        self.n = n


def draw_fields(u: np.ndarray, shares) -> np.ndarray:
    cumulative = np.cumsum(shares) / np.sum(shares)
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(shares) - 1)


def ability(u: np.ndarray, p) -> np.ndarray:
    """Log-normal ability with log-s.d. `ability_sigma`, by inverse CDF of uniforms in (0, 1)."""
    return np.exp(p.population.ability_sigma * ndtri(u))


class Population(Mechanism):
    name = "population"
    parameters = {"population": PopulationParams, "fields": FieldsParams}
    researcher_state = {
        "person_id": np.int64,
        "field": np.intp,
        "institution": np.intp,
        "ability": np.float64,
    }

    def initialize(self):
        m, p, rng = self.model, self.p, self.rng
        n, k = m.n, p.population.n_institutions
        u_field, u_institution, u_ability = rng.random((3, n))
        r = m.researchers
        r.person_id[:] = np.arange(n)
        r.field[:] = draw_fields(u_field, p.fields.shares)
        r.institution[:] = np.minimum((u_institution * k).astype(np.intp), k - 1)
        r.ability[:] = ability(u_ability, p)
        wealth = np.exp(p.population.institution_wealth_sigma * ndtri(rng.random(k)))
        m.institutions.wealth = wealth / wealth.mean()
        m.people_hired = n  # person ids so far; newcomers get the next ones
        sizes = np.bincount(r.field, minlength=len(m.fields.names))
        m.group_sizes = {g: int(sizes[mask].sum()) for g, mask in m.fields.group_masks().items()}

    def evaluate(self, opening):
        self.model.fields.funding_weight[:] = 1.0
        self.model.institutions.priority_weight = np.ones(self.p.population.n_institutions)
        if not opening:  # one draw per post and evaluation, whoever leaves
            self._newcomer_words = streams.words(self.rng, 1, self.model.n)

    def replace(self, leavers):
        m, r = self.model, self.model.researchers
        r.person_id[leavers] = m.people_hired + np.arange(leavers.size)
        m.people_hired += leavers.size
        r.ability[leavers] = ability(streams.uniform(self._newcomer_words, 0, leavers), self.p)
