"""Guanxi favoritism: ties to whoever holds power raise evaluations beyond merit.

Source: Han Xueying's account (2024 seed article: "when a person within a group achieves
success or rises to a position of power, they tend to show favoritism towards those within their
group"); Fisman, Shi, Wang & Xu 2018 (hometown ties to Chinese Academy of Sciences members raise
election chances regardless of merit).

Rules:
- each researcher's tie to the current leadership is Beta(1, b) with b = `tie_concentration`
  (uniform for b = 1; larger b makes strong ties rarer), drawn by inverse CDF:
  tie = 1 - (1 - u)^(1/b);
- when an institution's leadership changes, its researchers' ties are drawn anew;
- the evaluation bonus is weight x tie under political leadership, and
  weight x technocratic_damping x tie under technocratic leadership.
"""

import numpy as np


def draw_ties(u: np.ndarray, tie_concentration: float) -> np.ndarray:
    return 1.0 - (1.0 - u) ** (1.0 / tie_concentration)


def favoritism(ties, technocratic_of_researcher, p) -> np.ndarray:
    """Score bonus (in score standard deviations) from ties to the leadership."""
    strength = np.where(technocratic_of_researcher, p.guanxi.technocratic_damping, 1.0)
    return p.guanxi.weight * strength * ties
