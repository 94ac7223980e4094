"""Foreign collaboration.

Source: Anna Ares's account of foreign partners' distrust (2024 seed article); the 2022 export
controls' cut of foreign collaborations in exposed fields. The rates and boosts are modelling
assumptions (docs/ODD.md, section 7).

Rules, per step of length dt (years), for a researcher at oversight intensity o whose field lost a
share `loss` of its foreign inputs:
- a researcher without a foreign collaborator gains one with chance
  formation_per_year x dt x (1 - distrust x o) x (1 - loss);
- one with a collaborator loses it with chance dissolution_per_year x dt x (1 + loss);
- a collaborator multiplies output by 1 + paper_boost and exploratory success by
  1 + success_boost.
"""

import numpy as np


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
