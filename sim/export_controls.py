"""Export-control shocks and the self-reliance response.

Source: the 2024 seed article: the October 7, 2022 US controls on advanced semiconductors and AI,
and the answer of "high-level technological self-reliance" with resources concentrated on core
technologies (Anna Ares's account); exposure by field follows the seed (semiconductors and AI
high, pure mathematics none).

Rules, from `start_year` when enabled, for a field of exposure e:
- lost share of foreign inputs: severity x e x (1 - max_recovery x min(1, years since start /
  substitution_years) x [self_reliance_funding > 0]): domestic substitutes restore part of the
  loss over time, only where self-reliance is funded;
- exploratory success is multiplied by 1 - success_dependence x loss, incremental output by
  1 - paper_dependence x loss;
- foreign collaborations of the field form less and break more by the loss (collaboration.py);
- self-reliance funding: exposed priority fields' funding weight is multiplied by
  1 + self_reliance_funding.
"""

import numpy as np

from .mechanism import Mechanism
from .params import ExportControlsParams


def input_loss(year: float, exposure: np.ndarray, p) -> np.ndarray:
    """Share of foreign inputs lost, per field (zeros before the shock or when disabled)."""
    e = p.export_controls
    if not e.enabled or year < e.start_year:
        return np.zeros_like(exposure)
    recovery = 0.0
    if e.self_reliance_funding > 0:
        recovery = e.max_recovery * min(1.0, (year - e.start_year) / e.substitution_years)
    return e.severity * exposure * (1.0 - recovery)


def self_reliance_weight(year: float, exposed: np.ndarray, priority: np.ndarray, p) -> np.ndarray:
    """Funding weight per field from the self-reliance response (ones before the shock)."""
    e = p.export_controls
    if not e.enabled or year < e.start_year:
        return np.ones(exposed.shape)
    return 1.0 + e.self_reliance_funding * (exposed & priority)


class ExportControls(Mechanism):
    name = "export_controls"
    parameters = {"export_controls": ExportControlsParams}

    def step(self):
        fields = self.model.fields
        fields.input_loss[:] = input_loss(self.model.year, fields.exposure, self.p)

    def evaluate(self, opening):
        fields = self.model.fields
        fields.funding_weight *= self_reliance_weight(
            self.model.year_end, fields.exposed, fields.priority, self.p
        )
