"""A reference implementation of the model's rules as idiomatic, per-agent Mesa code.

Each `ReferenceResearcher` is a `mesa.Agent` whose `step` runs one quarter in plain Python,
drawing from the model's `random.Random` (`self.model.random`), as a Mesa user would write it.
It implements the rules of docs/ODD.md (section 7) and the module docstrings independently of
the vectorized `ResearchModel`: same parameters (`sim.schema.Params`), same per-step metrics and
the same `run_metrics()`. It serves two purposes:

- docking (Axtell, Axelrod, Epstein & Cohen 1996, "Aligning simulation models"): over many seeds
  its run metrics and the vectorized model's agree in distribution (tests/test_docking.py);
- a speed baseline for the benchmarks (benchmarks/).

It is not imported by `sim/__init__.py`, and it is slow (microseconds per researcher-step):
use `ResearchModel` for real work. Its random numbers differ from `ResearchModel`'s streams, so
the two agree in distribution, not draw by draw.
"""

import bisect
import math
import random
from collections import deque
from statistics import NormalDist

import mesa
import numpy as np

from .mechanism import STEP_YEARS, steps_for
from .metrics import allocation_efficiency, gini
from .model import METRICS, STEP_METRICS, ResearchModel
from .papers import EXPLORATORY, ROUTINE, PaperCohort
from .params import set_status_quo, with_overrides
from .population import Fields
from .schema import Params
from .timeline import Timeline

SCORE_CLIP = 3.0


def clip(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


class Institution:
    """A university or institute: funding pool, leadership type, fixed draw for mergers."""

    def __init__(self, wealth: float, technocratic: bool, merge_draw: float):
        self.wealth, self.technocratic, self.merge_draw = wealth, technocratic, merge_draw

    def intensity(self, p: Params) -> float:
        merged = self.merge_draw < p.leadership.merged_share
        return min(1.0, p.oversight.intensity * (1.0 + p.oversight.merged_amplification * merged))


class ReferenceResearcher(mesa.Agent):
    """One researcher in one post (field, institution), stepping one quarter at a time."""

    def __init__(self, model, field: int, institution: int, share: float, foreign: bool):
        super().__init__(model)
        p, rand = model.p, model.random
        self.field, self.institution = field, institution
        self.ability = rand.lognormvariate(0.0, p.population.ability_sigma)
        self.ties = rand.betavariate(1.0, p.guanxi.tie_concentration)
        self.exploratory_share, self.foreign = share, foreign
        self.funding, self.merit, self.score, self.merit_rank = 1.0, 0.0, 0.0, 0.5
        self.proposal_reshaped = self.project_reshaped = False
        self.cohort = (
            None  # at the export-control shock: "foreign", "domestic" (None: joined later)
        )
        self.recognized = 0.0  # impact recognized this step
        self.hired_quarter = model.quarter
        self.project_active, self.progress, self.effort_needed = False, 0.0, 0.0
        self.papers = self.impact = 0.0  # lifetime
        self.record = deque(maxlen=model.record_capacity)  # (credited, recognized) per step
        self.pending = []  # (step due, impact) of successful projects awaiting recognition

    def breakthrough_chance(self) -> float:
        """Chance that one incremental paper (log-normal impact, mean ability / k) passes T."""
        p = self.model.p
        mean = self.ability / self.model.split
        sigma, threshold = (
            p.production.incremental_impact_sigma,
            p.production.breakthrough_threshold,
        )
        if threshold <= 0:
            return 1.0
        if sigma == 0:
            return float(mean > threshold)
        x = (math.log(mean) - sigma**2 / 2 - math.log(threshold)) / sigma
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    def step(self):
        m, p, rand, dt = self.model, self.model.p, self.model.random, STEP_YEARS
        o = m.intensity[self.institution]
        loss = m.field_loss[self.field]
        technocratic = m.institutions[self.institution].technocratic

        # foreign collaboration
        c = p.collaboration
        if self.foreign:
            self.foreign = rand.random() >= min(1.0, c.dissolution_per_year * dt * (1.0 + loss))
        else:
            chance = c.formation_per_year * dt * (1.0 - p.oversight.distrust * o) * (1.0 - loss)
            self.foreign = rand.random() < chance

        # incremental papers
        pp = p.production
        boost = 1.0 + c.paper_boost * (1.0 - loss) if self.foreign else 1.0
        productivity = self.ability * self.funding**pp.funding_elasticity * boost
        time = (1.0 - p.oversight.other_duties) * (1.0 - p.oversight.max_time_cost * o)
        effort = time * productivity * dt
        share = self.exploratory_share if self.project_active else 0.0
        inputs = 1.0 - p.export_controls.paper_dependence * loss
        expected = pp.papers_per_year * effort * (1.0 - share) * inputs * m.split
        papers = math.floor(expected) + (rand.random() < expected - math.floor(expected))
        breakthroughs = int(rand.random() < papers * self.breakthrough_chance())
        recognized = papers * self.ability / m.split
        recording = m.cohort.recording(m.quarter)
        if recording:  # its first paper passes the threshold if it was a breakthrough
            for j in range(papers):
                impact = self.routine_paper_impact(above=j == 0 and breakthroughs)
                m.cohort.add(ROUTINE, m.quarter, 1.0, impact, m.quarter)

        # the exploratory project
        if self.project_active:
            self.progress += share * effort
            if self.progress >= self.effort_needed:
                self.project_active = False
                chance = pp.project_success * (1.0 + c.success_boost * (1.0 - loss) * self.foreign)
                chance *= 1.0 - p.export_controls.success_dependence * loss
                if rand.random() < chance:
                    impact = pp.project_impact_scale * self.ability
                    impact *= rand.paretovariate(pp.project_impact_alpha)
                    impact *= 1.0 - p.oversight.reshape_cost * self.project_reshaped
                    big = impact > pp.breakthrough_threshold
                    breakthroughs += big
                    m.step_exploratory_breakthroughs += big
                    papers += pp.project_papers * m.split
                    delay = pp.recognition_delay_years * rand.expovariate(1.0)
                    due = m.quarter + math.ceil(delay / dt)
                    self.pending.append((due, impact))
                    if recording:  # the lead paper holds the impact; the others none
                        made = pp.project_papers * m.split
                        m.cohort.add(EXPLORATORY, m.quarter, min(made, 1.0), impact, due)
                        if made > 1.0:
                            m.cohort.add(EXPLORATORY, m.quarter, made - 1.0, 0.0, m.quarter)
                else:
                    papers += pp.project_papers / 2 * m.split
                    m.flops += 1
                    if recording:
                        made = pp.project_papers / 2 * m.split
                        m.cohort.add(EXPLORATORY, m.quarter, min(made, 1.0), 0.0, m.quarter)
                        if made > 1.0:
                            m.cohort.add(EXPLORATORY, m.quarter, made - 1.0, 0.0, m.quarter)
        recognized += sum(impact for due, impact in self.pending if due <= m.quarter)
        self.pending = [(due, impact) for due, impact in self.pending if due > m.quarter]

        # an idle researcher who explores has a proposal, judged at the next round
        if not self.project_active and self.exploratory_share > 0:
            if m.approval_round:
                m.judged += 1
                if rand.random() >= self.refusal_chance(o, technocratic):
                    self.project_active, self.progress = True, 0.0
                    self.effort_needed = pp.project_effort_years * rand.expovariate(1.0)
                    self.project_reshaped, self.proposal_reshaped = self.proposal_reshaped, False
                    m.approved += 1
                else:  # reshaped toward a priority, or dropped for a new one
                    self.proposal_reshaped = rand.random() < p.oversight.reshape_chance
            m.waiting += not self.project_active

        forgone = pp.papers_per_year * effort * share * inputs * m.split
        self.record.append((papers + p.incentives.failure_tolerance * forgone, recognized))
        self.papers += papers
        self.impact += recognized
        self.recognized = recognized
        m.step_papers += papers
        m.step_breakthroughs[self.field] += breakthroughs

    def window_rates(self, window: int) -> tuple[float, float]:
        """Credited papers and recognized impact per year in post, within the window."""
        recent = list(self.record)[-window:]
        if not recent:
            return 0.0, 0.0
        years = len(recent) * STEP_YEARS
        return sum(x[0] for x in recent) / years, sum(x[1] for x in recent) / years

    def refusal_chance(self, intensity: float, technocratic: bool) -> float:
        """At a round: technocratic leaders rank proposers by merit, political ones by ties."""
        p = self.model.p
        ov = p.oversight
        if technocratic and p.leadership.approval_differs:
            favor, standing = ov.merit_favor, self.merit_rank
        else:
            favor = ov.loyalty_favor
            standing = 1.0 - (1.0 - self.ties) ** p.guanxi.tie_concentration
        aligned = self.proposal_reshaped or self.model.priority[self.field]
        refusal = intensity * ov.max_rejection * (1.0 - ov.priority_favor * aligned)
        return refusal * (1.0 - favor * (2.0 * standing - 1.0))

    def routine_paper_impact(self, above: bool) -> float:
        """An incremental paper's impact: log-normal with mean ability / k, drawn above the
        breakthrough threshold or below it (sim/papers.py)."""
        p, m = self.model.p, self.model
        mean, sigma = self.ability / m.split, p.production.incremental_impact_sigma
        if sigma == 0:
            return mean
        mu, normal = math.log(mean) - sigma**2 / 2, NormalDist()
        u, threshold = max(m.paper_random.random(), 1e-300), p.production.breakthrough_threshold
        if threshold <= 0:
            return math.exp(mu + sigma * normal.inv_cdf(u))
        z = (math.log(threshold) - mu) / sigma
        if above:  # the upper tail, from its survival side
            return math.exp(mu - sigma * normal.inv_cdf(max(u * normal.cdf(-z), 1e-300)))
        return math.exp(mu + sigma * normal.inv_cdf(max(u * normal.cdf(z), 1e-300)))

    def bonus(self) -> float:
        p = self.model.p
        technocratic = self.model.institutions[self.institution].technocratic
        damped = technocratic and p.leadership.favoritism_differs
        return p.guanxi.weight * (p.guanxi.technocratic_damping if damped else 1.0) * self.ties


def standardized(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [(v - mean) / sd if sd > 0 else 0.0 for v in values]


class ReferenceModel(mesa.Model):
    """The same rules as `ResearchModel`, one Python `step` per researcher; see the module."""

    def __init__(self, params: Params | None = None, *, seed: int | None = None, **overrides):
        super().__init__(rng=seed)
        self.p = p = with_overrides(params, **overrides)
        self.paper_random = random.Random(seed)  # the cohort's draws (sim/papers.py)
        reform = set_status_quo(p) if p.run.burn_in_years > 0 else []  # the burn-in's levers
        self.timeline = Timeline(reform + list(p.timeline))
        self.n = p.population.n_researchers
        self.total_steps = steps_for(p.run.years)
        self.quarter = 0  # quarters begun since the burn-in started
        window = self.timeline.max_value(
            "incentives.evaluation_window_years", p.incentives.evaluation_window_years
        )
        self.record_capacity = steps_for(window)
        f = p.fields
        self.fields = Fields.from_params(p)  # names, exposure, priority and field groups
        self.priority = list(f.priority)
        self.exposed = [e >= f.exposed_threshold for e in f.export_exposure]
        rand = self.random
        wealth = [
            rand.lognormvariate(0.0, p.population.institution_wealth_sigma)
            for _ in range(p.population.n_institutions)
        ]
        self.institutions = [
            Institution(
                w * len(wealth) / sum(wealth),
                rand.random() < p.leadership.technocrat_share,
                rand.random(),
            )
            for w in wealth
        ]
        self.split = 1.0 + p.incentives.paper_splitting * p.incentives.publication_weight
        self.field_loss = [0.0] * len(f.names)
        self._set_intensity()
        sizes = [0] * len(f.names)
        for _ in range(self.n):
            field = rand.choices(range(len(f.names)), weights=f.shares)[0]
            sizes[field] += 1
            mu, sd = p.population.initial_exploratory_share, p.population.initial_exploratory_spread
            ReferenceResearcher(
                self,
                field,
                rand.randrange(len(self.institutions)),
                clip(rand.gauss(mu, sd), 0.0, 1.0),
                rand.random() < p.collaboration.initial_share,
            )
        self.group_sizes = {
            g: sum(s for s, inside in zip(sizes, mask, strict=True) if inside)
            for g, mask in self.fields.group_masks().items()
        }
        self.cohorts_drawn = False
        burn_in = round(p.run.burn_in_years / STEP_YEARS)
        self.cohort = PaperCohort(burn_in + 1, p.production.paper_cohort_years)
        self.origin = p.run.start_year - burn_in * STEP_YEARS
        self.evaluate(self.origin, with_careers=False)
        for _ in range(burn_in):
            self.quarter_step(burning_in=True)
        if reform and self.timeline.apply_due(-math.inf, p):  # the run's levers, now
            self.split = 1.0 + p.incentives.paper_splitting * p.incentives.publication_weight
            self._set_intensity()
        self.metrics: dict[str, float] = {}
        self.history: dict[str, list] = {name: [] for name in STEP_METRICS}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, k=name: m.metrics[k]) for name in STEP_METRICS}
        )

    @property
    def year(self) -> float:
        return self.origin + max(self.quarter - 1, 0) * STEP_YEARS

    def _set_intensity(self):
        self.intensity = [inst.intensity(self.p) for inst in self.institutions]

    def step(self):
        year = self.quarter_step()
        self.record_metrics(year)
        self.datacollector.collect(self)
        if self.steps >= self.total_steps:
            self.running = False
            getattr(mesa.Agent, "_ids", {}).pop(self, None)  # Mesa 3.3's id counter (a leak)

    def quarter_step(self, burning_in: bool = False) -> float:
        """One quarter, recorded or of the burn-in; returns its calendar year."""
        self.quarter += 1
        p, year = self.p, self.year
        if not burning_in and self.timeline.apply_due(year, p):
            self.split = 1.0 + p.incentives.paper_splitting * p.incentives.publication_weight
            self._set_intensity()
        e = p.export_controls
        if e.enabled and year >= e.start_year:
            recovery = 0.0
            if e.self_reliance_funding > 0:
                recovery = e.max_recovery * min(1.0, (year - e.start_year) / e.substitution_years)
            self.field_loss = [e.severity * x * (1.0 - recovery) for x in p.fields.export_exposure]
        else:
            self.field_loss = [0.0] * len(p.fields.names)
        if not self.cohorts_drawn and year >= e.start_year:  # status at the shock date
            for a in self.agents:
                a.cohort = "foreign" if a.foreign else "domestic"
            self.cohorts_drawn = True
        self.step_papers, self.flops, self.step_exploratory_breakthroughs = 0.0, 0, 0
        self.judged = self.approved = self.waiting = 0
        self.approval_round = self.quarter % steps_for(p.oversight.round_interval_years) == 0
        self.step_breakthroughs = [0] * len(p.fields.names)
        self.agents.shuffle_do("step")
        self.cohort.now = self.quarter
        if self.quarter % steps_for(p.incentives.evaluation_interval_years) == 0:
            self.evaluate(year + STEP_YEARS, with_careers=True)
        return year

    def evaluate(self, year: float, with_careers: bool):
        """Leadership turnover, scores, exit and imitation, then funding (incentives.py)."""
        p, rand = self.p, self.random
        if with_careers:
            chance = 1.0 - (1.0 - p.leadership.turnover_per_year) ** (
                p.incentives.evaluation_interval_years
            )
            changed = set()
            for i, inst in enumerate(self.institutions):
                if rand.random() < chance:
                    inst.technocratic = rand.random() < p.leadership.technocrat_share
                    changed.add(i)
            for a in self.agents:
                if a.institution in changed:
                    a.ties = rand.betavariate(1.0, p.guanxi.tie_concentration)
            self._set_intensity()

        agents = list(self.agents)
        window = min(steps_for(p.incentives.evaluation_window_years), self.record_capacity)
        rates = [a.window_rates(window) for a in agents]
        z_papers = standardized([t[0] for t in rates])
        z_impact = standardized([math.log1p(t[1]) for t in rates])
        w = p.incentives.publication_weight
        bonus = {a: a.bonus() for a in agents}
        for a, zp, zi in zip(agents, z_papers, z_impact, strict=True):
            a.merit = w * zp + (1.0 - w) * zi
            a.score = clip(a.merit + bonus[a], -SCORE_CLIP, SCORE_CLIP)
        if with_careers:
            agents = self.turn_over(agents)
        merits = sorted(a.merit for a in agents)
        for a in agents:  # average rank among equal merits, from 0 to 1
            below, equal = bisect.bisect_left(merits, a.merit), merits.count(a.merit)
            a.merit_rank = (below + (equal - 1) / 2) / max(len(agents) - 1, 1)

        raw = []
        for a in agents:
            institution = self.institutions[a.institution]
            weight = institution.wealth
            if self.priority[a.field]:
                concentration = 1.0
                if institution.technocratic and p.leadership.funding_differs:
                    concentration = p.leadership.technocratic_concentration
                weight *= 1.0 + p.oversight.centralization * p.oversight.intensity * concentration
            e = p.export_controls
            if e.enabled and year >= e.start_year and self.exposed[a.field]:
                weight *= 1.0 + e.self_reliance_funding * self.priority[a.field]
            raw.append(weight * math.exp(p.incentives.funding_steepness * a.score))
        scale = len(raw) / sum(raw)
        for a, x in zip(agents, raw, strict=True):
            a.funding = x * scale
        funding = [a.funding for a in agents]
        self.funding_gini = gini(funding)
        self.allocation_efficiency = allocation_efficiency(funding, [a.ability for a in agents])

    def turn_over(self, agents):
        """The lowest scores leave; newcomers copy mentors, incumbents better peers (careers.py)."""
        p, rand = self.p, self.random
        c, dt = p.careers, p.incentives.evaluation_interval_years
        cumulative, total = [], 0.0
        for a in agents:
            total += a.funding
            cumulative.append(total)

        def by_funding():
            return rand.choices(agents, cum_weights=cumulative)[0]

        def copied(share):
            return clip(share + c.imitation_noise * rand.gauss(0.0, 1.0), 0.0, 1.0)

        new_share = {}
        for a in agents:
            if rand.random() < 1.0 - (1.0 - c.imitation_per_year) ** dt:
                peer = by_funding()
                if peer.score > a.score:
                    new_share[a] = copied(peer.exploratory_share)
        dismissed = round((1.0 - (1.0 - c.exit_per_year) ** dt) * len(agents))
        shuffled = list(agents)  # equal scores leave by chance: sort a shuffled list (stable)
        rand.shuffle(shuffled)
        leavers = sorted(shuffled, key=lambda a: a.score)[:dismissed]
        retire = 1.0 - (1.0 - 1.0 / c.career_years) ** dt
        leavers += [a for a in agents if rand.random() < retire and a not in leavers]
        newcomers = {a: copied(by_funding().exploratory_share) for a in leavers}
        for a, share in new_share.items():
            a.exploratory_share = share
        for old, share in newcomers.items():
            new = ReferenceResearcher(self, old.field, old.institution, share, foreign=False)
            # as in ResearchModel: a newcomer's first score is the favour of its own new ties
            new.merit, new.score = 0.0, clip(new.bonus(), -SCORE_CLIP, SCORE_CLIP)
            old.remove()
        return list(self.agents)

    def record_metrics(self, year):
        """This step's values of every declared step metric (sim.model.METRICS)."""
        agents, n = list(self.agents), self.n
        observed = {
            "technocrat_share": sum(i.technocratic for i in self.institutions)
            / len(self.institutions),
            "exploratory_share": sum(a.exploratory_share for a in agents) / n,
            "research_time_share": sum(
                (1.0 - self.p.oversight.other_duties)
                * (1.0 - self.p.oversight.max_time_cost * self.intensity[a.institution])
                for a in agents
            )
            / n,
            "foreign_collaboration_share": sum(a.foreign for a in agents) / n,
            "funding_gini": self.funding_gini,
            "allocation_efficiency": self.allocation_efficiency,
            "breakthroughs": np.array(self.step_breakthroughs),
            "exploratory_breakthroughs": self.step_exploratory_breakthroughs,
            "papers": self.step_papers,
            "impact": sum(a.recognized for a in agents),
            "years_in_post": sum(self.quarter - a.hired_quarter for a in agents) / n * STEP_YEARS,
            "flops": self.flops,
            "proposals_judged": self.judged,
            "proposals_approved": self.approved,
            "proposals_waiting": self.waiting,
            "exploring_share": sum(a.project_active for a in agents) / n,
        }
        for cohort in ("foreign", "domestic"):
            members = [a for a in agents if a.cohort == cohort]
            observed[f"{cohort}_cohort_impact"] = sum(a.recognized for a in members)
            observed[f"{cohort}_cohort_members"] = len(members)
        self.cohort.observe(observed)
        assert set(observed) == {m.name for m in METRICS.steps}, "a step metric is not computed"
        self.metrics = METRICS.step_values(year, observed, self)
        for name, value in self.metrics.items():
            self.history[name].append(value)

    catalog = METRICS
    run = ResearchModel.run
    timeseries = ResearchModel.timeseries
    run_metrics = ResearchModel.run_metrics
