"""Production: incremental papers, exploratory projects, delayed recognition and breakthroughs.

Sources: Han Xueying's account (2024 seed article: quantity over quality, short-term over
long-term, riskier research); Foster, Rzhetsky & Evans 2015 (risky innovation is rarer and more
variable in reward); Wang, Veugelers & Stephan 2017 (novel work is more often a top-1% paper but
is recognized later); Azoulay, Graff Zivin & Manso 2011.

Rules, per step of dt years, for a researcher with ability a, research time r, funding f (mean 1),
exploratory share s (counted only while a project is running) and input loss L of the field:
- productivity q = a x f^funding_elasticity x (1 + paper_boost x (1 - L) if foreign
  collaborator): export controls cut what a foreign collaborator contributes (collaboration.py);
- incremental papers: expected papers_per_year x dt x r x (1 - s) x q x (1 - paper_dependence x L)
  x k, with k the splitting factor of incentives.py, rounded stochastically (floor plus one with
  chance of the remainder), so the mean is exact;
- each incremental paper has log-normal impact with mean a / k and log-s.d. sigma, recognized at
  once; it is a breakthrough with chance P(impact > threshold) = 1 - Phi((ln T - ln(a / k) +
  sigma^2 / 2) / sigma);
- a researcher with s > 0 and no project proposes one; once approved (oversight.py: at the next
  round), the project
  needs an effort of project_effort_years x Exp(1) FTE-years and progresses by s x r x q x dt per
  step;
- a finished project succeeds with chance project_success x (1 + success_boost x (1 - L) if
  foreign) x
  (1 - success_dependence x L); success gives project_papers x k papers and impact
  scale x a x Pareto(alpha), recognized after an Exp(recognition_delay_years) delay; failure (a
  "flop") gives half the papers and no impact. Splitting multiplies every kind of output's
  papers by the same k, so paper counts penalise exploration only through the evaluation's
  weight; a project's discovery keeps its impact in one lead paper (splitting slices routine
  results into more papers, not the discovery);
- a breakthrough is a paper whose impact passes the threshold: an incremental paper, or the
  lead paper of a successful project. It is counted when the paper is made (recognition delay
  matters for evaluation only); the share of breakthroughs among papers, and the share of
  breakthroughs that came from exploratory projects, are reported.
- a reshaped project (oversight.py) loses reshape_cost of its impact.
The papers made in the first recorded years also go, one by one with their kind, date and
impact over time, into a cohort (papers.py) whose top-1% shares by kind are reported.
Each step runs one compiled pass over the researchers (kernels.py) that applies these rules,
the collaboration rules (collaboration.py) and approval in rounds (oversight.py) from their
arrays, and counts the proposals judged, approved and waiting; what
follows the projects that ended or started, and delayed recognition, is done here in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from . import kernels, papers, streams
from .incentives import splitting_factor
from .kernels import merge_by_due
from .mechanism import STEP_YEARS, Mechanism, steps_for
from .metrics import Run, Step
from .params import ACCEPTED, PROVISIONAL, REDNER, UNPINNED, WVS, fitted, param


@dataclass
class ProductionParams:
    papers_per_year: float = param(
        0.198,
        0.0,
        50.0,
        unit="papers per FTE-year",
        doc="Incremental indexed papers of a full-time researcher of ability 1",
        source=fitted("breakthrough_share, indexed_papers_per_researcher"),
        plausible=(0.0574, 0.684),
        plausible_source=ACCEPTED,
    )
    funding_elasticity: float = param(
        0.3,
        0.0,
        2.0,
        unit="elasticity",
        doc="Output grows as (funding / mean funding)^elasticity",
        plausible=(0.1, 0.6),
        plausible_source=PROVISIONAL,
    )
    incremental_impact_sigma: float = param(
        2.71,
        0.0,
        3.0,
        unit="log-units",
        doc="Spread of incremental papers' log impact",
        source=UNPINNED,
        plausible=(0.65, 2.9),
        plausible_source=ACCEPTED,
    )
    project_effort_years: float = param(
        1.5,
        0.1,
        50.0,
        unit="FTE-years",
        doc="Mean effort an exploratory project needs (exponential)",
        source="Foster, Rzhetsky & Evans 2015",
        plausible=(0.75, 3.0),
        plausible_source=PROVISIONAL,
    )
    project_success: float = param(
        0.21,
        0.0,
        1.0,
        unit="probability",
        doc="Chance a finished exploratory project succeeds",
        source=UNPINNED,
        plausible=(0.135, 0.384),
        plausible_source=ACCEPTED,
    )
    project_impact_scale: float = param(
        18.0,
        0.0,
        1e6,
        unit="impact units",
        doc="Minimum impact of a successful project (Pareto scale)",
        source=UNPINNED,
        plausible=(8.16, 18.0),
        plausible_source=ACCEPTED,
    )
    project_impact_alpha: float = param(
        1.5,
        1.01,
        10.0,
        unit="Pareto index",
        doc="Tail index of successful projects' impact",
        plausible=(1.2, 2.5),
        plausible_source=REDNER,
    )
    project_papers: float = param(
        0.687,
        0.0,
        50.0,
        unit="papers",
        doc="Indexed papers from a successful project (a flop yields half)",
        source=UNPINNED,
        plausible=(0.129, 0.944),
        plausible_source=ACCEPTED,
    )
    recognition_delay_years: float = param(
        4.0,
        0.0,
        50.0,
        unit="years",
        doc="Mean delay before a project's impact is recognized (exponential)",
        source="Wang, Veugelers & Stephan 2017",
        plausible=(2.0, 8.0),
        plausible_source=WVS,
    )
    breakthrough_threshold: float = param(
        462.0,
        0.0,
        1e9,
        unit="impact units",
        doc="Impact above which an output is a breakthrough "
        "(about the top 1% of papers with neutral levers)",
        source=fitted("breakthrough_share"),
        plausible=(89.8, 676.0),
        plausible_source=ACCEPTED,
    )
    paper_cohort_years: float = param(
        5.0,
        0.0,
        200.0,
        unit="years",
        doc="Papers made in the first paper_cohort_years recorded years form the cohort whose "
        "top-1% shares by kind are reported (sim/papers.py; 0: no cohort)",
        source="Wang, Veugelers & Stephan 2017 count a publication-year cohort; the length is "
        "a modelling choice, short enough for a 20-year run to observe it for 15 years",
        label="paper cohort",
        short="cohort years",
    )


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


def output_boost(foreign, loss, p) -> np.ndarray:
    """Output multiplier from a foreign collaborator, cut by the field's input loss."""
    return 1.0 + p.collaboration.paper_boost * (1.0 - loss) * foreign


def success_chance(foreign, loss, p) -> np.ndarray:
    boost = 1.0 + p.collaboration.success_boost * (1.0 - loss) * foreign
    inputs = 1.0 - p.export_controls.success_dependence * loss
    return np.minimum(1.0, p.production.project_success * boost * inputs)


def project_paper_count(succeeded, p) -> np.ndarray:
    """Papers from a finished project: project_papers if it succeeded, half if not, times k."""
    pp = p.production
    return np.where(succeeded, pp.project_papers, pp.project_papers / 2) * splitting_factor(p)


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


BREAKTHROUGHS = Step("breakthroughs", "Breakthroughs", "count", count=True, by_group=True)
BREAKTHROUGH_RATE = Run(  # the headline metric
    "breakthrough_rate",
    "Breakthrough rate",
    of="breakthroughs",
    how="rate",
    unit="breakthroughs per 1,000 researcher-years",
    short="breakthrough rate",
    group_answers=(("nonpriority", "oversight.intensity"),),
)
PAPER_RATE = Run(
    "papers_per_researcher_year",
    "Papers per researcher-year",
    of="papers",
    how="rate",
    per=1.0,
    unit="papers per researcher-year",
    short="papers per researcher-year",
    answers=("incentives.publication_weight",),
)
BREAKTHROUGH_SHARE = Run(
    "breakthroughs_per_thousand_papers",
    "Breakthrough papers",
    of="breakthroughs",
    how="ratio",
    over="papers",
    unit="per 1,000 papers",
    short="breakthroughs per 1,000 papers",
)
EXPLORATORY_BREAKTHROUGH_SHARE = Run(
    "exploratory_breakthrough_share",
    "Breakthroughs from exploratory projects",
    of="exploratory_breakthroughs",
    how="ratio",
    over="breakthroughs",
    per=1.0,
    unit="share of breakthroughs",
    short="exploratory share of breakthroughs",
)
FLOP_RATE = Run(
    "flop_rate",
    "Failed exploratory projects",
    of="flops",
    how="rate",
    unit="flops per 1,000 researcher-years",
    short="flop rate",
    answers=("incentives.evaluation_window_years", "incentives.failure_tolerance"),
)


class Production(Mechanism):
    name = "production"
    parameters = {"production": ProductionParams}
    researcher_state = {
        "breakthrough_chance": np.float64,  # per incremental paper; depends on ability only
        "project_active": np.bool_,
        "project_progress": np.float64,
        "project_effort": np.float64,
        "papers": np.float64,  # lifetime papers
        "impact": np.float64,  # lifetime recognized impact
    }
    metrics = (
        BREAKTHROUGHS,
        Step(
            "exploratory_breakthroughs",
            "Breakthroughs from exploratory projects",
            "count",
            count=True,
        ),
        Step("papers", "Papers", "count", count=True),
        Step("impact", "Impact recognized", "impact units", count=True),
        Step("flops", "Failed exploratory projects", "count", count=True),
        Step("proposals_judged", "Proposals judged", "count", count=True),
        Step("proposals_approved", "Proposals approved", "count", count=True),
        Step("proposals_waiting", "Proposals waiting for a round", "researchers", count=True),
        Step("exploring_share", "Researchers with a project under way", "share"),
        BREAKTHROUGH_RATE,
        Run(
            "total_breakthroughs",
            "Breakthroughs per run",
            of="breakthroughs",
            how="sum",
            unit="breakthroughs",
        ),
        PAPER_RATE,
        Run(
            "impact_per_researcher_year",
            "Impact recognized per researcher-year",
            of="impact",
            how="rate",
            per=1.0,
            unit="impact units per researcher-year",
            short="impact per researcher-year",
        ),
        BREAKTHROUGH_SHARE,
        EXPLORATORY_BREAKTHROUGH_SHARE,
        FLOP_RATE,
        Run(
            "approval_rate",
            "Approval rate",
            of="proposals_approved",
            how="ratio",
            over="proposals_judged",
            per=1.0,
            unit="share of proposals judged",
            short="approval rate",
            answers=("oversight.intensity",),
        ),
        Run(
            "waiting_years_per_project",
            "Wait for approval",
            of="proposals_waiting",
            how="ratio",
            over="proposals_approved",
            per=STEP_YEARS,
            unit="researcher-years waited per approved project",
            short="wait per project (years)",
            answers=("oversight.intensity",),
        ),
        Run(
            "total_flops",
            "Failed exploratory projects per run",
            of="flops",
            how="sum",
            unit="flops",
        ),
        *papers.METRICS,
    )

    def initialize(self):
        n, n_fields = self.model.n, len(self.model.fields.names)
        self.pending = RecognitionQueue()
        self._done, self._start = np.empty(n, np.intp), np.empty(n, np.intp)
        self._succeeded = np.empty(n, bool)
        self.by_field = np.zeros(n_fields, np.int64)
        # the cohort: papers made in the first recorded years (after the burn-in's steps)
        first = self.model.burn_in_steps + 1
        self.cohort = papers.PaperCohort(first, self.p.production.paper_cohort_years)

    def refresh(self):
        """Parameters changed: the chance per incremental paper, the constants of the pass."""
        r, p = self.model.researchers, self.p
        r.breakthrough_chance[:] = incremental_breakthrough_chance(r.ability, p)
        pp, x = p.production, p.export_controls
        self.constants = kernels.StepConstants(
            dt=STEP_YEARS,
            papers_per_year=pp.papers_per_year,
            split=splitting_factor(p),
            paper_boost=p.collaboration.paper_boost,
            success_boost=p.collaboration.success_boost,
            project_success=pp.project_success,
            project_papers=pp.project_papers,
            reshape_chance=p.oversight.reshape_chance,
            success_dependence=x.success_dependence,
            paper_dependence=x.paper_dependence,
            failure_tolerance=p.incentives.failure_tolerance,
        )
        self._set_time_productivity()

    def evaluate(self, opening):
        self._set_time_productivity()  # funding changed

    def _set_time_productivity(self):
        r = self.model.researchers
        productivity = r.ability * r.funding**self.p.production.funding_elasticity
        self.time_productivity = r.research_time * productivity

    def step_inputs(self, words) -> kernels.StepInputs:
        """The pass's inputs, by name, from the shared arrays."""
        m, r = self.model, self.model.researchers
        return kernels.StepInputs(
            field=r.field,
            foreign=r.foreign,
            u_collaboration=r.collaboration_draw,
            forming_chance=r.forming_chance,
            breaking_chance=m.fields.breaking_chance,
            time_productivity=self.time_productivity,
            project_active=r.project_active,
            exploratory_share=r.exploratory_share,
            project_progress=r.project_progress,
            project_effort=r.project_effort,
            breakthrough_chance=r.breakthrough_chance,
            ability=r.ability,
            refusal_chance=r.refusal_chance,
            refusal_chance_aligned=r.refusal_chance_aligned,
            proposal_reshaped=r.proposal_reshaped,
            project_reshaped=r.project_reshaped,
            approval_round=m.quarter % steps_for(self.p.oversight.round_interval_years) == 0,
            input_loss=m.fields.input_loss,
            words=words,
        )

    def step(self):
        m, r, p = self.model, self.model.researchers, self.p
        words = streams.words(self.rng, kernels.PRODUCTION_WORDS, m.n)
        self.by_field[:] = 0
        recording = self.cohort.recording(m.quarter)
        papers_before = r.papers.copy() if recording else None
        out = kernels.StepOutputs(
            credited_papers=r.credited_papers,
            recognized_impact=r.recognized_impact,
            total_papers=r.papers,
            total_impact=r.impact,
            done=self._done,
            succeeded=self._succeeded,
            start=self._start,
            breakthroughs_by_field=self.by_field,
        )
        counts = kernels.step_researchers(self.step_inputs(words), self.constants, out)
        self.counts = counts
        done, success = self._done[: counts.done], self._succeeded[: counts.done]
        impact = project_impact(r.ability[done], streams.uniform(words, kernels.IMPACT, done), p)
        impact *= 1.0 - p.oversight.reshape_cost * r.project_reshaped[done]
        big = success & (impact > p.production.breakthrough_threshold)
        winners = done[success]
        delay = recognition_delay(streams.uniform(words, kernels.DELAY, winners), p)
        due = m.quarter + np.ceil(delay / STEP_YEARS).astype(np.int64)
        self.pending.push(due, winners, r.person_id[winners], impact[success])
        self._recognize(r.recognized_impact)
        if recording:
            self._record_papers(r.papers - papers_before, words, done, success, impact, due)
        self.cohort.now = m.quarter

        start = self._start[: counts.started]
        r.project_progress[start] = 0.0
        r.project_effort[start] = project_effort(streams.uniform(words, kernels.EFFORT, start), p)
        self.by_field += np.bincount(r.field[done[big]], minlength=self.by_field.size)
        self.exploratory_breakthroughs = int(big.sum())
        self.flops = int((~success).sum())

    def _record_papers(self, made, words, done, success, impact, due) -> None:
        """Put this step's papers into the cohort (papers.py): `made` is each researcher's
        papers of the step, `done` the projects that ended (`success`, `impact` in that
        order), `due` the step each success's impact is recognized."""
        m, r, p = self.model, self.model.researchers, self.p
        project = project_paper_count(success, p)
        made[done] -= project
        routine = np.flatnonzero(np.rint(made) > 0)  # whole counts, up to float rounding
        count = np.rint(made[routine])
        # production's breakthrough draw for these researchers, read again (kernels.py)
        hit = streams.uniform(words, kernels.BREAKTHROUGH, routine) < (
            count * r.breakthrough_chance[routine]
        )
        u = m.streams["papers"].random(int(count.sum()))
        mean_impact = r.ability[routine] / splitting_factor(p)
        routine_impact = papers.routine_impacts(
            mean_impact,
            count,
            hit,
            u,
            p.production.incremental_impact_sigma,
            p.production.breakthrough_threshold,
        )
        self.cohort.add(
            papers.ROUTINE, m.quarter, np.ones(routine_impact.size), routine_impact, m.quarter
        )
        # a project's impact is in its lead paper (at most one paper's weight); the rest have none
        lead = np.minimum(project, 1.0)
        lead_impact = np.where(success, impact, 0.0)
        lead_due = np.full(done.size, m.quarter, np.int64)
        lead_due[success] = due
        self.cohort.add(papers.EXPLORATORY, m.quarter, lead, lead_impact, lead_due)
        rest = project - lead
        self.cohort.add(papers.EXPLORATORY, m.quarter, rest[rest > 0], 0.0, m.quarter)

    def _recognize(self, impact_row: np.ndarray) -> None:
        """Add the impact whose recognition is due this step to researchers still in post: to
        their lifetime impact and to this step's row of the record."""
        r = self.model.researchers
        slot, person, impact = self.pending.pop(self.model.quarter)
        present = person == r.person_id[slot]
        slot, impact = slot[present], impact[present]
        np.add.at(r.impact, slot, impact)
        np.add.at(impact_row, slot, impact.astype(impact_row.dtype))

    def replace(self, leavers):
        r = self.model.researchers
        r.breakthrough_chance[leavers] = incremental_breakthrough_chance(r.ability[leavers], self.p)
        r.project_active[leavers] = False
        r.project_progress[leavers] = 0.0
        r.papers[leavers] = 0.0
        r.impact[leavers] = 0.0

    def observe(self, values):
        values["breakthroughs"] = self.by_field
        values["exploratory_breakthroughs"] = self.exploratory_breakthroughs
        values["papers"] = self.counts.papers
        values["impact"] = float(self.model.researchers.recognized_impact.sum())
        values["proposals_judged"] = self.counts.judged
        values["proposals_approved"] = self.counts.started
        values["proposals_waiting"] = self.counts.waiting
        values["flops"] = self.flops
        values["exploring_share"] = np.count_nonzero(self.model.researchers.project_active) / (
            self.model.n
        )
        self.cohort.observe(values)
