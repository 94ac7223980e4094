"""Party oversight of research institutions.

Source: Anna Ares's account (MERICS), as the 2024 seed article gives it: compulsory ideological
training "to a degree not seen since the reform and opening up"; party committees with more
decision power (merged with presidents' offices in January 2024); centralization "to advance core
technologies ... quickly and smoothly"; politicization making foreign partners see Chinese
counterparts as less "entirely professional".

Rules, with o the institution's intensity = min(1, intensity x (1 + merged_amplification if
merged)):
- time: the share of working time left for research is 1 - max_time_cost x o;
- approval: an exploratory proposal is refused with chance
  o x max_rejection x (1 - priority_favor if the field is a priority)
    x (1 - loyalty_favor x tie, under political leadership);
- centralization: priority fields' funding weight is multiplied by 1 + centralization x
  intensity;
- distrust: foreign partners' willingness to start collaborations falls by a share
  distrust x o (see collaboration.py).
"""

import numpy as np

from .mechanism import Mechanism
from .metrics import Run, Step
from .params import OversightParams


def institution_intensity(merged: np.ndarray, p) -> np.ndarray:
    o = p.oversight
    return np.minimum(1.0, o.intensity * (1.0 + o.merged_amplification * merged))


def research_time(intensity_of_researcher: np.ndarray, p) -> np.ndarray:
    return 1.0 - p.oversight.max_time_cost * intensity_of_researcher


def refusal_probability(intensity, priority, ties, technocratic, p) -> np.ndarray:
    o = p.oversight
    priority_cut = 1.0 - o.priority_favor * priority
    loyalty_cut = 1.0 - o.loyalty_favor * ties * ~technocratic
    return intensity * o.max_rejection * priority_cut * loyalty_cut


def centralization_weight(priority: np.ndarray, p) -> np.ndarray:
    """Funding weight per field: priority fields get 1 + centralization x intensity."""
    return 1.0 + p.oversight.centralization * p.oversight.intensity * priority


RESEARCH_TIME = Step("research_time_share", "Research time", "share of working time")


class Oversight(Mechanism):
    name = "oversight"
    parameters = {"oversight": OversightParams}
    researcher_state = {"research_time": np.float64, "refusal_chance": np.float64}
    metrics = (
        RESEARCH_TIME,
        Run(
            "mean_research_time_share",
            "Research time",
            of="research_time_share",
            how="mean",
            unit="share of working time",
            short="research time share",
            answers=("oversight.intensity",),
        ),
    )

    def refresh(self):
        """Intensity and research time change only with parameters and mergers."""
        m, r = self.model, self.model.researchers
        m.institutions.intensity = institution_intensity(m.institutions.merged, self.p)
        time = research_time(m.institutions.intensity, self.p)  # per institution, then looked up
        r.research_time[:] = time[r.institution]
        self.research_time_share = float(r.research_time.mean())
        self._set_refusal_chance()

    def evaluate(self, opening):
        """Ties and leaderships changed: new refusal chances; priority fields' funding weight."""
        self._set_refusal_chance()
        fields = self.model.fields
        fields.funding_weight *= centralization_weight(fields.priority, self.p)

    def _set_refusal_chance(self):
        m, r = self.model, self.model.researchers
        r.refusal_chance[:] = refusal_probability(
            m.institutions.intensity[r.institution],
            m.fields.priority[r.field],
            r.ties,
            m.institutions.technocratic[r.institution],
            self.p,
        )

    def observe(self, values):
        values["research_time_share"] = self.research_time_share
