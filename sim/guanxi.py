"""Guanxi favoritism: ties to whoever holds power raise evaluations beyond merit.

Source: Han Xueying's account (2024 seed article: "when a person within a group achieves
success or rises to a position of power, they tend to show favoritism towards those within their
group"); Fisman, Shi, Wang & Xu 2018 (hometown ties to Chinese Academy of Sciences members raise
election chances regardless of merit).

Rules:
- each researcher's tie to the current leadership is Beta(1, b) with b = `tie_concentration`
  (uniform for b = 1; larger b makes strong ties rarer), drawn by inverse CDF:
  tie = 1 - (1 - u)^(1/b);
- when an institution's leadership changes, its researchers' ties are drawn anew; a newcomer
  draws its own;
- the evaluation bonus (favour) is weight x tie under political leadership, and
  weight x technocratic_damping x tie under technocratic leadership (where
  `leadership.favoritism_differs`; otherwise weight x tie as well). The damping is a parameter,
  not zero: the 2022 seed notes that technical elites rose "partly because of their
  non-technocratic political or family connections".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mechanism import Mechanism
from .params import ACCEPTED, HAN, PROVISIONAL, fitted, param


@dataclass
class GuanxiParams:
    weight: float = param(
        1.37,
        0.0,
        5.0,
        unit="score s.d. per unit tie",
        doc="Evaluation bonus for ties to the institution's leadership",
        label="guanxi weight",
        short="guanxi",
        policy=True,
        source=fitted("fisman_election"),
        plausible=(0.298, 2.0),
        plausible_source=ACCEPTED,
    )
    technocratic_damping: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="Favoritism under technocratic leadership, relative to political leadership",
        source=HAN,
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )
    tie_concentration: float = param(
        1.0,
        0.1,
        50.0,
        unit="Beta b",
        doc="Ties are Beta(1, b): uniform at 1, larger b fewer strong ties",
        plausible=(0.5, 4.0),
        plausible_source=PROVISIONAL,
    )


def draw_ties(u: np.ndarray, tie_concentration: float) -> np.ndarray:
    return 1.0 - (1.0 - u) ** (1.0 / tie_concentration)


def favoritism(ties, technocratic_of_researcher, p) -> np.ndarray:
    """Score bonus (in score standard deviations) from ties to the leadership."""
    damped = technocratic_of_researcher & p.leadership.favoritism_differs
    strength = np.where(damped, p.guanxi.technocratic_damping, 1.0)
    return p.guanxi.weight * strength * ties


class Guanxi(Mechanism):
    name = "guanxi"
    parameters = {"guanxi": GuanxiParams}
    researcher_state = {"ties": np.float64, "favour": np.float64}

    def initialize(self):
        r = self.model.researchers
        r.ties[:] = draw_ties(self.rng.random(self.model.n), self.p.guanxi.tie_concentration)
        self._u_ties = np.empty((2, self.model.n))  # per post: a mover's draw, a newcomer's

    def evaluate(self, opening):
        r, inst = self.model.researchers, self.model.institutions
        if not opening:  # two draws per post and evaluation: a newcomer's ties are its own,
            self.rng.random(out=self._u_ties)  # not those its predecessor just left with
            moved = np.flatnonzero(inst.leadership_changed[r.institution])
            r.ties[moved] = draw_ties(self._u_ties[0, moved], self.p.guanxi.tie_concentration)
        r.favour[:] = favoritism(r.ties, inst.technocratic[r.institution], self.p)

    def replace(self, leavers):
        r, inst = self.model.researchers, self.model.institutions
        r.ties[leavers] = draw_ties(self._u_ties[1, leavers], self.p.guanxi.tie_concentration)
        technocratic = inst.technocratic[r.institution[leavers]]
        r.favour[leavers] = favoritism(r.ties[leavers], technocratic, self.p)
