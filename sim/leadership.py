"""Institutional leadership: technocratic or political, merged with the party committee or not.

Source: the 2022 seed article on technocrats in the Party's Central Committee (40% at the 20th
Congress, 31.3% in 2007, 17.6% at the 19th; Li 2001 defines a technocrat by technical training,
professional occupation and leadership position), and Anna Ares's account of the January 2024
merger of party committees with presidents' offices (2024 seed article).

Rules, one evaluation period `dt` apart:
- each institution's leadership is replaced with chance 1 - (1 - turnover_per_year)^dt;
- a new leadership (and each first one) is technocratic with chance `technocrat_share`;
- an institution is merged when its fixed draw lies below `merged_share`, so raising the share
  (the 2024 mergers) merges more institutions and never un-merges the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mechanism import Mechanism
from .metrics import Run, Step
from .params import ARES, HAN, PROVISIONAL, SEED_TECHNOCRATS, param


@dataclass
class LeadershipParams:
    technocrat_share: float = param(
        0.4,
        0.0,
        1.0,
        unit="share of institutions",
        doc="Chance that a leadership is technocratic",
        source=SEED_TECHNOCRATS,
        label="technocrat share of leaderships",
        short="technocrats",
        policy=True,
    )
    turnover_per_year: float = param(
        0.2,
        0.0,
        1.0,
        unit="per year",
        doc="Chance an institution's leadership changes in a year; "
        "ties are redrawn around the new leaders",
        source=HAN,
        plausible=(0.1, 0.35),
        plausible_source=PROVISIONAL,
    )
    merged_share: float = param(
        0.0,
        0.0,
        1.0,
        unit="share of institutions",
        doc="Institutions whose party committee and president's office are merged",
        source=f"{ARES} (January 2024 mergers)",
        label="merged leaderships",
        short="merged",
        policy=True,
    )
    approval_differs: bool = param(
        True,
        doc="Technocratic leaderships approve proposals on merit, political ones on ties "
        "(false: all on ties)",
        source=SEED_TECHNOCRATS,
        label="leaderships differ in approval",
        short="approval channel",
        channel_of="technocrat_share",
    )
    favoritism_differs: bool = param(
        True,
        doc="Technocratic leaderships favour ties less in evaluations "
        "(guanxi.technocratic_damping; false: as much as political ones)",
        source=HAN,
        label="leaderships differ in favoritism",
        short="favoritism channel",
        channel_of="technocrat_share",
    )
    funding_differs: bool = param(
        True,
        doc="Technocratic leaderships concentrate funding on priority fields less "
        "(technocratic_concentration; false: as much as political ones)",
        source=ARES,
        label="leaderships differ in funding",
        short="funding channel",
        channel_of="technocrat_share",
    )
    technocratic_concentration: float = param(
        0.5,
        0.0,
        2.0,
        unit="x the political concentration",
        doc="A technocratic leadership's extra funding for priority fields, relative to a "
        "political leadership's (oversight.centralization)",
        plausible=(0.0, 1.0),
        plausible_source=PROVISIONAL,
    )


def draw_types(u_type: np.ndarray, technocrat_share: float) -> np.ndarray:
    """True where the leadership is technocratic."""
    return u_type < technocrat_share


def turnover(technocratic, rng, p, dt):
    """Replace leaderships at random; return (new technocratic flags, mask of replaced ones)."""
    u_change, u_type = rng.random((2, technocratic.size))
    changed = u_change < 1.0 - (1.0 - p.leadership.turnover_per_year) ** dt
    new_types = draw_types(u_type, p.leadership.technocrat_share)
    return np.where(changed, new_types, technocratic), changed


def merged(u_merge: np.ndarray, merged_share: float) -> np.ndarray:
    return u_merge < merged_share


class Leadership(Mechanism):
    name = "leadership"
    parameters = {"leadership": LeadershipParams}
    metrics = (
        Step("technocrat_share", "Technocratic leaderships", "share of institutions"),
        Run(
            "mean_technocrat_share",
            "Technocratic leaderships",
            of="technocrat_share",
            how="mean",
            unit="share of institutions",
            short="technocratic leaderships",
        ),
    )

    def initialize(self):
        inst, k = self.model.institutions, self.p.population.n_institutions
        u_type, inst.merge_draw = self.rng.random((2, k))
        inst.technocratic = draw_types(u_type, self.p.leadership.technocrat_share)
        inst.leadership_changed = np.zeros(k, dtype=bool)

    def refresh(self):
        inst = self.model.institutions
        inst.merged = merged(inst.merge_draw, self.p.leadership.merged_share)

    def evaluate(self, opening):
        if opening:
            return
        inst = self.model.institutions
        dt = self.p.incentives.evaluation_interval_years
        inst.technocratic, inst.leadership_changed = turnover(
            inst.technocratic, self.rng, self.p, dt
        )

    def observe(self, values):
        values["technocrat_share"] = float(np.mean(self.model.institutions.technocratic))
