"""Foreign collaboration.

Source: Anna Ares's account of foreign partners' distrust (2024 seed article); the 2022 export
controls' cut of foreign collaborations in exposed fields. The rates and boosts are modelling
assumptions (docs/ODD.md, section 7).

Rules, per step of length dt (years), for a researcher at oversight intensity o whose field lost a
share `loss` of its foreign inputs:
- a researcher without a foreign collaborator gains one with chance
  formation_per_year x dt x (1 - distrust x o) x (1 - loss);
- one with a collaborator loses it with chance dissolution_per_year x dt x (1 + loss);
- a collaborator multiplies output by 1 + paper_boost x (1 - loss) and exploratory success by
  1 + success_boost x (1 - loss) (production.py): what a foreign partner contributes (shared
  equipment, code, data, know-how) is what export controls cut, so researchers whose work
  depends on a foreign collaborator lose more than the field as a whole, as Aghion et al. 2023
  found for researchers with prior US co-authors after the China Initiative.
Each step the chances are set here and applied in the compiled pass over researchers
(kernels.py), which draws on this mechanism's uniforms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .mechanism import STEP_YEARS, Mechanism
from .metrics import Run, Step
from .params import ACCEPTED, PROVISIONAL, ROYLE, fitted, param


@dataclass
class CollaborationParams:
    # Read only when the model is built: a timeline event may not change these.
    fixed_at_start: ClassVar[tuple[str, ...]] = ("initial_share",)

    initial_share: float = param(
        0.3,
        0.0,
        1.0,
        unit="share of researchers",
        doc="Researchers with a foreign collaborator at the start",
        plausible=(0.15, 0.4),
        plausible_source=ROYLE,
    )
    formation_per_year: float = param(
        0.0567,
        0.0,
        1.0,
        unit="per year",
        doc="Chance per year of gaining a foreign collaborator",
        source=fitted("foreign_coauthor_share"),
        plausible=(0.0302, 0.0888),
        plausible_source=ACCEPTED,
    )
    dissolution_per_year: float = param(
        0.15,
        0.0,
        1.0,
        unit="per year",
        doc="Chance per year of losing one",
        plausible=(0.08, 0.25),
        plausible_source=PROVISIONAL,
    )
    paper_boost: float = param(
        0.2,
        0.0,
        5.0,
        unit="x output",
        doc="Extra output with a foreign collaborator",
        plausible=(0.05, 0.4),
        plausible_source=PROVISIONAL,
    )
    success_boost: float = param(
        0.3,
        0.0,
        5.0,
        unit="x success chance",
        doc="Extra exploratory success with a foreign collaborator",
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )


def formation_chance(intensity, loss, p, dt):
    """Chance in one step of gaining a foreign collaborator."""
    c = p.collaboration
    return c.formation_per_year * dt * (1.0 - p.oversight.distrust * intensity) * (1.0 - loss)


def dissolution_chance(loss, p, dt):
    """Chance in one step of losing one's foreign collaborator."""
    return np.minimum(1.0, p.collaboration.dissolution_per_year * dt * (1.0 + loss))


def update(foreign, intensity, loss, u, p, dt) -> np.ndarray:
    """Who has a foreign collaborator after one step, from one uniform u per researcher."""
    p_form = formation_chance(intensity, loss, p, dt)
    p_break = dissolution_chance(loss, p, dt)
    return np.where(foreign, u >= p_break, u < p_form)


FOREIGN_COLLABORATION = Step(
    "foreign_collaboration_share", "Foreign collaboration", "share of researchers"
)


class Collaboration(Mechanism):
    name = "collaboration"
    parameters = {"collaboration": CollaborationParams}
    researcher_state = {"foreign": np.bool_, "forming_chance": np.float64}
    metrics = (
        FOREIGN_COLLABORATION,
        Run(
            "mean_foreign_collaboration_share",
            "Foreign collaboration",
            of="foreign_collaboration_share",
            how="mean",
            unit="share of researchers",
            short="foreign collab. share",
            answers=("oversight.intensity", "export_controls.enabled"),
        ),
    )

    def initialize(self):
        m = self.model
        m.researchers.foreign[:] = self.rng.random(m.n) < self.p.collaboration.initial_share
        m.researchers.collaboration_draw = np.empty(m.n)  # this step's uniforms
        m.fields.breaking_chance = np.empty(len(m.fields.names))

    def refresh(self):
        """The chance of forming one without any input loss, per institution, then looked up."""
        m = self.model
        r, n_fields = m.researchers, len(m.fields.names)
        forming = formation_chance(m.institutions.intensity, 0.0, self.p, STEP_YEARS)
        self._forming_without_loss = forming[r.institution]
        self._post = r.institution * n_fields + r.field  # index into (institution, field)

    def step(self):
        m, r, loss = self.model, self.model.researchers, self.model.fields.input_loss
        self.rng.random(out=r.collaboration_draw)
        if loss.any():  # the chances differ by field as well as by institution
            by_post = formation_chance(
                m.institutions.intensity[:, None], loss[None, :], self.p, STEP_YEARS
            )
            r.forming_chance = by_post.ravel()[self._post]
        else:  # a loss of 0 multiplies by exactly 1: the chances depend on the institution only
            r.forming_chance = self._forming_without_loss
        m.fields.breaking_chance[:] = dissolution_chance(loss, self.p, STEP_YEARS)

    def replace(self, leavers):
        self.model.researchers.foreign[leavers] = False

    def observe(self, values):
        values["foreign_collaboration_share"] = np.count_nonzero(self.model.researchers.foreign) / (
            self.model.n
        )
