"""Party oversight of research institutions.

Source: Anna Ares's account (MERICS), as the 2024 seed article gives it: compulsory ideological
training "to a degree not seen since the reform and opening up"; party committees with more
decision power (merged with presidents' offices in January 2024); centralization "to advance core
technologies ... quickly and smoothly"; politicization making foreign partners see Chinese
counterparts as less "entirely professional".

Rules, with o the institution's intensity = min(1, intensity x (1 + merged_amplification if
merged)):
- time: the share of working time left for research is (1 - other_duties) x (1 - max_time_cost x
  o): duties other than oversight (grant applications, reporting, evaluation, teaching; Huang
  Yanhong 2011 names them as what crowds out research) take their share, training and
  procedures a share of the rest. Only the total is pinned by data (huang_research_time);
- approval, in rounds every `round_interval_years`: a researcher who wants to explore and has no
  project waits for the next round; there the proposal is refused with chance
  o x max_rejection x (1 - priority_favor if aligned with a priority)
    x (1 - favor x (2 x rank - 1)).
  The leadership sets the criterion: a political one ranks proposers by their ties
  (favor = loyalty_favor), a technocratic one by merit, the record-based part of the last score
  (favor = merit_favor); ranks are uniform in [0, 1], so the criterion moves who is approved, not
  how many. A refused proposal is reshaped toward national priorities with chance
  reshape_chance (aligned at the next round; the project then loses reshape_cost of its impact)
  or dropped, a new one going to the next round. Either way, a refusal costs a round's wait;
- centralization: at each institution, priority fields' funding weight is multiplied by
  1 + centralization x intensity under political leadership, and by 1 + centralization x
  intensity x technocratic_concentration under technocratic leadership;
- distrust: foreign partners' willingness to start collaborations falls by a share
  distrust x o (see collaboration.py).
Leaderships differ in approval and in funding only where `leadership.approval_differs` and
`leadership.funding_differs` are set (otherwise technocratic ones act like political ones).
The approval itself is applied in the compiled pass (kernels.py), from the chances set here.
"""

import numpy as np
from scipy.stats import rankdata

from .mechanism import Mechanism
from .metrics import Run, Step
from .params import OversightParams


def institution_intensity(merged: np.ndarray, p) -> np.ndarray:
    o = p.oversight
    return np.minimum(1.0, o.intensity * (1.0 + o.merged_amplification * merged))


def research_time(intensity_of_researcher: np.ndarray, p) -> np.ndarray:
    """Share of working time left for research: other duties take theirs, oversight a share of
    the rest."""
    o = p.oversight
    return (1.0 - o.other_duties) * (1.0 - o.max_time_cost * intensity_of_researcher)


def tie_rank(ties: np.ndarray, p) -> np.ndarray:
    """A tie's rank among all ties, uniform in [0, 1]: the Beta(1, b) distribution function."""
    return 1.0 - (1.0 - ties) ** p.guanxi.tie_concentration


def merit_rank(merit: np.ndarray) -> np.ndarray:
    """Each researcher's rank by merit, from 0 (lowest) to 1 (highest); equal merits (newcomers,
    or everyone before a record exists) share their average rank."""
    return (rankdata(merit) - 1.0) / max(merit.size - 1, 1)


def judged_on_merit(technocratic: np.ndarray, p) -> np.ndarray:
    """Whose leadership approves on merit (technocratic, where approval differs)."""
    return technocratic & p.leadership.approval_differs


def refusal_probability(intensity, aligned, standing, on_merit, p) -> np.ndarray:
    """Chance a proposal is refused at a round, for proposers of rank `standing` (by merit
    where `on_merit`, else by ties)."""
    o = p.oversight
    favor = np.where(on_merit, o.merit_favor, o.loyalty_favor)
    priority_cut = 1.0 - o.priority_favor * aligned
    return intensity * o.max_rejection * priority_cut * (1.0 - favor * (2.0 * standing - 1.0))


def priority_funding_weight(technocratic: np.ndarray, p) -> np.ndarray:
    """Per institution, the funding weight of its priority fields' researchers."""
    concentration = np.where(
        technocratic & p.leadership.funding_differs, p.leadership.technocratic_concentration, 1.0
    )
    return 1.0 + p.oversight.centralization * p.oversight.intensity * concentration


RESEARCH_TIME = Step("research_time_share", "Research time", "share of working time")


class Oversight(Mechanism):
    name = "oversight"
    parameters = {"oversight": OversightParams}
    researcher_state = {
        "research_time": np.float64,
        "refusal_chance": np.float64,  # at a round, of a proposal in the researcher's field
        "refusal_chance_aligned": np.float64,  # of a proposal aligned with a priority
        "proposal_reshaped": np.bool_,  # the waiting proposal was reshaped after a refusal
        "project_reshaped": np.bool_,  # the running project was
    }
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
        """Ties, merit and leaderships changed: new refusal chances; priority funding."""
        self._set_refusal_chance()
        inst = self.model.institutions
        inst.priority_weight *= priority_funding_weight(inst.technocratic, self.p)

    def _set_refusal_chance(self):
        m, r, p = self.model, self.model.researchers, self.p
        on_merit = judged_on_merit(m.institutions.technocratic[r.institution], p)
        standing = np.where(on_merit, merit_rank(r.merit), tie_rank(r.ties, p))
        intensity = m.institutions.intensity[r.institution]
        r.refusal_chance[:] = refusal_probability(
            intensity, m.fields.priority[r.field], standing, on_merit, p
        )
        r.refusal_chance_aligned[:] = refusal_probability(intensity, True, standing, on_merit, p)

    def replace(self, leavers):
        r = self.model.researchers
        r.proposal_reshaped[leavers] = False
        r.project_reshaped[leavers] = False

    def observe(self, values):
        values["research_time_share"] = self.research_time_share
