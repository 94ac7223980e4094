"""Funding follows the evaluation score.

Source: Han Xueying's account (2024 seed article): funding, promotion and exit follow
"extensive assessment and ranking"; cash-per-paper rewards (Quan, Chen & Shu 2017; Franzoni,
Scellato & Stephan 2011). Its parameter is `incentives.funding_steepness`.

Rules, at each evaluation, after scores and careers:
- funding (mean 1) is proportional to institution wealth x field weight x (the institution's
  priority weight, for posts in priority fields) x exp(funding_steepness x score); the weights
  are 1 times what other mechanisms multiply in (self-reliance per field: export_controls.py;
  centralization per institution: oversight.py);
- reported: funding inequality (Gini) and allocation efficiency (the correlation of log funding
  with log ability: how well funding tracks ability).
"""

import numpy as np

from .mechanism import Mechanism
from .metrics import Run, Step, allocation_efficiency, gini


def funding(score, weight, p) -> np.ndarray:
    """Funding with mean 1: proportional to weight x exp(steepness x score)."""
    raw = weight * np.exp(p.incentives.funding_steepness * score)
    return raw * (raw.size / raw.sum())


class Funding(Mechanism):
    name = "funding"
    researcher_state = {"funding": np.float64}
    metrics = (
        Step("funding_gini", "Funding inequality", "Gini, 0-1"),
        Step(
            "allocation_efficiency",
            "Allocation efficiency",
            "correlation of log funding with log ability",
        ),
        Run(
            "mean_funding_gini",
            "Funding inequality",
            of="funding_gini",
            how="mean",
            unit="Gini, 0-1",
            short="funding Gini",
            answers=("guanxi.weight", "leadership.technocrat_share"),
        ),
        Run(
            "mean_allocation_efficiency",
            "Allocation efficiency",
            of="allocation_efficiency",
            how="mean",
            unit="corr. of log funding, log ability",
            short="allocation efficiency",
            answers=("guanxi.weight", "leadership.technocrat_share"),
        ),
    )

    def evaluate(self, opening):
        m, r = self.model, self.model.researchers
        inst, fields = m.institutions, m.fields
        post_weight = inst.wealth[r.institution] * fields.funding_weight[r.field]
        post_weight *= np.where(fields.priority[r.field], inst.priority_weight[r.institution], 1.0)
        r.funding[:] = funding(r.score, post_weight, self.p)
        self.gini = gini(r.funding)
        self.efficiency = allocation_efficiency(r.funding, r.ability)

    def observe(self, values):
        values["funding_gini"] = self.gini
        values["allocation_efficiency"] = self.efficiency
