"""Production: incremental papers, exploratory projects, delayed recognition and breakthroughs.

Sources: Han Xueying's account (2024 seed article: quantity over quality, short-term over
long-term, riskier research); Foster, Rzhetsky & Evans 2015 (risky innovation is rarer and more
variable in reward); Wang, Veugelers & Stephan 2017 (novel work is more often a top-1% paper but
is recognized later); Azoulay, Graff Zivin & Manso 2011.

Rules, per step of dt years, for a researcher with ability a, research time r, funding f (mean 1),
exploratory share s (counted only while a project is running) and input loss L of the field:
- productivity q = a x f^funding_elasticity x (1 + paper_boost if foreign collaborator);
- incremental papers: expected papers_per_year x dt x r x (1 - s) x q x (1 - paper_dependence x L)
  x k, with k the splitting factor of incentives.py, rounded stochastically (floor plus one with
  chance of the remainder), so the mean is exact;
- each incremental paper has log-normal impact with mean a / k and log-s.d. sigma, recognized at
  once; it is a breakthrough with chance P(impact > threshold) = 1 - Phi((ln T - ln(a / k) +
  sigma^2 / 2) / sigma);
- a researcher with s > 0 and no project proposes one; once approved (oversight.py), the project
  needs an effort of project_effort_years x Exp(1) FTE-years and progresses by s x r x q x dt per
  step;
- a finished project succeeds with chance project_success x (1 + success_boost if foreign) x
  (1 - success_dependence x L); success gives project_papers papers and impact
  scale x a x Pareto(alpha) (a breakthrough if above the threshold), recognized after an
  Exp(recognition_delay_years) delay; failure (a "flop") gives half the papers and no impact.
- Breakthroughs are counted when the output is made; recognition delay matters for evaluation.
"""

import numpy as np
from scipy.special import ndtr

from .incentives import splitting_factor
from .kernels import merge_by_due


def stochastic_round(expected: np.ndarray, u: np.ndarray, out=None) -> np.ndarray:
    """Whole counts with the given mean: floor(x) + 1 with chance x - floor(x).

    `out` (which may be `expected` itself) receives the counts.
    """
    whole = np.floor(expected)
    remainder = np.subtract(expected, whole, out=out)
    return np.add(whole, u < remainder, out=remainder)


def incremental_breakthrough_chance(ability: np.ndarray, p) -> np.ndarray:
    """Chance an incremental paper (log-normal impact, mean ability / split) is a breakthrough."""
    mean_impact = ability / splitting_factor(p)
    sigma = p.production.incremental_impact_sigma
    threshold = p.production.breakthrough_threshold
    if threshold <= 0:
        return np.ones_like(ability)
    if sigma == 0:
        return (mean_impact > threshold).astype(float)
    return ndtr((np.log(mean_impact) - sigma**2 / 2 - np.log(threshold)) / sigma)


def project_effort(u: np.ndarray, p) -> np.ndarray:
    """FTE-years a new exploratory project needs: exponential with the configured mean."""
    return -p.production.project_effort_years * np.log1p(-u)


def success_chance(foreign, loss, p) -> np.ndarray:
    boost = 1.0 + p.collaboration.success_boost * foreign
    inputs = 1.0 - p.export_controls.success_dependence * loss
    return np.minimum(1.0, p.production.project_success * boost * inputs)


def project_impact(ability, u, p) -> np.ndarray:
    """Pareto(alpha) impact with minimum scale x ability, by inverse CDF of u in [0, 1)."""
    return (
        p.production.project_impact_scale
        * ability
        * (1.0 - u) ** (-1.0 / p.production.project_impact_alpha)
    )


def recognition_delay(u, p) -> np.ndarray:
    return -p.production.recognition_delay_years * np.log1p(-u)


class RecognitionQueue:
    """Impact of successful projects awaiting recognition: the step it is due, the researcher's
    slot and person id (so that a leaver's impact is not credited to its successor), kept in
    the order due, then made."""

    def __init__(self):
        self.items = np.empty((3, 0), np.int64)  # rows: step due, slot, person id
        self.impact = np.empty(0)

    def push(self, due, slot, person, impact) -> None:
        order = np.argsort(due, kind="stable")
        new = np.stack([due, slot, person])[:, order]
        self.items, self.impact = merge_by_due(self.items, self.impact, new, impact[order])

    def pop(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(slot, person id, impact) of all that is due by `step`, removed from the queue."""
        count = np.searchsorted(self.items[0], step, side="right")
        (_, slot, person), impact = self.items[:, :count], self.impact[:count]
        self.items, self.impact = self.items[:, count:], self.impact[count:]
        return slot, person, impact
