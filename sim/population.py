"""The researchers' state, held in arrays (one entry per post), and the fields and institutions.

Posts are fixed: when a researcher leaves, a newcomer takes the same post (field, institution),
so the population size is constant and arrays never grow. `person_id` tells people apart.

Initial draws (DESIGN section 2): ability is log-normal with mean-log 0 and s.d. `ability_sigma`
(heavy-tailed); fields by `fields.shares`; institutions uniformly, with log-normal wealth; the
exploratory share is normal around `initial_exploratory_share`, clipped to [0, 1]; a share
`collaboration.initial_share` has a foreign collaborator.
"""

from dataclasses import dataclass

import numpy as np

from . import guanxi


@dataclass
class Fields:
    names: list[str]
    exposure: np.ndarray
    priority: np.ndarray
    exposed: np.ndarray

    @classmethod
    def from_params(cls, p):
        f = p.fields
        exposure = np.asarray(f.export_exposure, dtype=float)
        return cls(
            list(f.names),
            exposure,
            np.asarray(f.priority, dtype=bool),
            exposure >= f.exposed_threshold,
        )


@dataclass
class Institutions:
    wealth: np.ndarray  # relative funding pool, mean 1
    technocratic: np.ndarray
    merge_draw: np.ndarray  # fixed uniform: merged when below leadership.merged_share


@dataclass
class Researchers:
    person_id: np.ndarray
    field: np.ndarray
    institution: np.ndarray
    ability: np.ndarray
    breakthrough_chance: np.ndarray  # per incremental paper; depends on ability only
    exploratory_share: np.ndarray
    ties: np.ndarray
    foreign: np.ndarray
    funding: np.ndarray
    score: np.ndarray
    project_active: np.ndarray
    project_progress: np.ndarray
    project_effort: np.ndarray
    papers: np.ndarray  # lifetime papers
    impact: np.ndarray  # lifetime recognized impact

    @property
    def n(self) -> int:
        return self.field.size


def draw_fields(u: np.ndarray, shares) -> np.ndarray:
    cumulative = np.cumsum(shares) / np.sum(shares)
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(shares) - 1)


def create(p, rng: np.random.Generator):
    """Fields, institutions and researchers for parameters p, drawn from the population stream."""
    from .production import incremental_breakthrough_chance

    n, k = p.population.n_researchers, p.population.n_institutions
    u = rng.random((5, n))
    normals = rng.standard_normal((2, n))
    inst_u = rng.random((2, k))
    inst_normal = rng.standard_normal(k)

    wealth = np.exp(p.population.institution_wealth_sigma * inst_normal)
    institutions = Institutions(
        wealth=wealth / wealth.mean(),
        technocratic=inst_u[0] < p.leadership.technocrat_share,
        merge_draw=inst_u[1],
    )
    ability = np.exp(p.population.ability_sigma * normals[0])
    share = (
        p.population.initial_exploratory_share
        + p.population.initial_exploratory_spread * normals[1]
    )
    researchers = Researchers(
        person_id=np.arange(n, dtype=np.int64),
        field=draw_fields(u[0], p.fields.shares),
        institution=np.minimum((u[1] * k).astype(np.int64), k - 1),
        ability=ability,
        breakthrough_chance=incremental_breakthrough_chance(ability, p),
        exploratory_share=np.clip(share, 0.0, 1.0),
        ties=guanxi.draw_ties(u[2], p.guanxi.tie_concentration),
        foreign=u[3] < p.collaboration.initial_share,
        funding=np.ones(n),
        score=np.zeros(n),
        project_active=np.zeros(n, dtype=bool),
        project_progress=np.zeros(n),
        project_effort=np.zeros(n),
        papers=np.zeros(n),
        impact=np.zeros(n),
    )
    return Fields.from_params(p), institutions, researchers
