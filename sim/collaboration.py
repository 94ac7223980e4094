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


def update(foreign, intensity, loss, u, p, dt) -> np.ndarray:
    c = p.collaboration
    p_form = c.formation_per_year * dt * (1.0 - p.oversight.distrust * intensity) * (1.0 - loss)
    p_break = np.minimum(1.0, c.dissolution_per_year * dt * (1.0 + loss))
    return np.where(foreign, u >= p_break, u < p_form)
