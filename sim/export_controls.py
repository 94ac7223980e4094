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
- a foreign collaborator's contribution is cut by the loss, so those who work with one lose
  more (collaboration.py); foreign collaborations of the field form less and break more;
- self-reliance funding: exposed priority fields' funding weight is multiplied by
  1 + self_reliance_funding.
Cohorts, to compare with Aghion et al. 2023: at `start_year` (whether or not the shock is
enabled, so that a run without it has the same cohorts on the same seed) the researchers in post
are split into those with a foreign collaborator and those without. Each cohort's recognized
impact per member-year from then on is reported; a member who leaves leaves the cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mechanism import STEP_YEARS, Mechanism
from .metrics import Run, Step
from .params import ARES, PROVISIONAL, SEED_EXPORT, param


@dataclass
class ExportControlsParams:
    enabled: bool = param(
        False,
        doc="Whether the export-control shock happens",
        source=SEED_EXPORT,
        label="export-control shock",
        short="shock",
        policy=True,
    )
    start_year: float = param(
        2022.75,
        1950.0,
        2100.0,
        unit="calendar year",
        doc="Date of the shock (October 2022)",
        source=SEED_EXPORT,
    )
    severity: float = param(
        0.7,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of foreign inputs lost by a fully exposed field",
        source=SEED_EXPORT,
        label="export-control severity",
        short="severity",
        policy=True,
    )
    success_dependence: float = param(
        0.8,
        0.0,
        1.0,
        unit="0..1",
        doc="How much exploratory success depends on foreign inputs",
        plausible=(0.5, 1.0),
        plausible_source=PROVISIONAL,
    )
    paper_dependence: float = param(
        0.3,
        0.0,
        1.0,
        unit="0..1",
        doc="How much incremental output depends on foreign inputs",
        plausible=(0.1, 0.5),
        plausible_source=PROVISIONAL,
    )
    self_reliance_funding: float = param(
        0.5,
        0.0,
        5.0,
        unit="funding multiple",
        doc="Extra funding weight of exposed priority fields after the shock",
        source=ARES,
        label="self-reliance funding",
        short="self-reliance",
        policy=True,
    )
    substitution_years: float = param(
        4.0,
        0.25,
        50.0,
        unit="years",
        doc="Years for domestic substitutes to restore inputs",
        plausible=(2.0, 8.0),
        plausible_source=PROVISIONAL,
    )
    max_recovery: float = param(
        0.5,
        0.0,
        1.0,
        unit="0..1",
        doc="Share of lost inputs that self-reliance can restore",
        plausible=(0.25, 0.75),
        plausible_source=PROVISIONAL,
    )


NO_COHORT, DOMESTIC, FOREIGN = -1, 0, 1
COHORTS = {"foreign": FOREIGN, "domestic": DOMESTIC}


def cohort_metrics(cohort: str, label: str):
    """A cohort's impact and members per step, and its impact per member-year over the run."""
    return (
        Step(f"{cohort}_cohort_impact", f"Impact recognized, {label}", "impact units", count=True),
        Step(f"{cohort}_cohort_members", f"Members in post, {label}", "researchers", count=True),
        Run(
            f"{cohort}_cohort_impact_per_year",
            f"Impact per researcher-year, {label}",
            of=f"{cohort}_cohort_impact",
            how="ratio",
            over=f"{cohort}_cohort_members",
            per=1.0 / STEP_YEARS,
            unit="impact units per researcher-year, from the shock date",
            short=f"impact per year, {label}",
            answers=("export_controls.enabled",),
        ),
    )


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
    researcher_state = {"cohort": np.int8}
    metrics = (
        *cohort_metrics("foreign", "foreign collaborator at the shock"),
        *cohort_metrics("domestic", "no foreign collaborator at the shock"),
    )

    def initialize(self):
        self.model.researchers.cohort[:] = NO_COHORT
        self.cohorts_drawn = False

    def step(self):
        m, fields = self.model, self.model.fields
        fields.input_loss[:] = input_loss(m.year, fields.exposure, self.p)
        if not self.cohorts_drawn and m.year >= self.p.export_controls.start_year:
            r = m.researchers
            r.cohort[:] = np.where(r.foreign, FOREIGN, DOMESTIC)
            self.cohorts_drawn = True

    def replace(self, leavers):
        self.model.researchers.cohort[leavers] = NO_COHORT

    def observe(self, values):
        r = self.model.researchers
        for name, code in COHORTS.items():
            members = r.cohort == code
            values[f"{name}_cohort_impact"] = float(r.recognized_impact[members].sum())
            values[f"{name}_cohort_members"] = int(np.count_nonzero(members))

    def evaluate(self, opening):
        fields = self.model.fields
        fields.funding_weight *= self_reliance_weight(
            self.model.year_end, fields.exposed, fields.priority, self.p
        )
