"""The research-incentives model: researchers under evaluation rules, oversight and export controls.

One step is a quarter of a year. Each step: dated events apply (timeline.py); export controls set
each field's input loss (export_controls.py); oversight sets research time (oversight.py);
foreign collaborations form and break (collaboration.py); researchers produce papers, run
exploratory projects and make breakthroughs (production.py); recognized impact enters the record.
At each evaluation: leaderships turn over (leadership.py) and ties follow (guanxi.py); researchers
are scored, the lowest leave, the rest imitate better-scoring peers (careers.py), and funding
follows the score (incentives.py). See docs/ODD.md for the full description.
"""

import mesa
import numpy as np

from . import (
    careers,
    collaboration,
    export_controls,
    guanxi,
    incentives,
    leadership,
    oversight,
    population,
    production,
)
from .agents import Researcher
from .collector import MetricsCollector
from .metrics import allocation_efficiency, gini, rate_per_thousand
from .params import Params, with_overrides
from .streams import Streams
from .timeline import Timeline

STEP_YEARS = 0.25
GROUPS = ("exposed", "unexposed", "priority", "nonpriority")
STEP_METRICS = (
    "year",
    "breakthroughs",
    "breakthrough_rate",
    "papers_per_researcher_year",
    "exploratory_share",
    "exploring_share",
    "research_time_share",
    "foreign_collaboration_share",
    "funding_gini",
    "allocation_efficiency",
    "flops",
    "technocrat_share",
    *[f"breakthroughs_{g}" for g in GROUPS],
    *[f"breakthrough_rate_{g}" for g in GROUPS],
)


def steps_for(years: float) -> int:
    return max(1, round(years / STEP_YEARS))


class ResearchModel(mesa.Model):
    """Researchers (array-backed Mesa agents) under publication rewards, oversight and controls.

    `ResearchModel(seed=1)` runs with defaults. Levers are keyword arguments, dotted
    (`**{"oversight.intensity": 0.8}`) or by unambiguous name (`n_researchers=500`), so Mesa's
    `batch_run` can sweep them; `params` takes a whole `Params` object (the Hydra layer fills it).
    """

    def __init__(self, params: Params | None = None, *, seed: int | None = None, **overrides):
        super().__init__(rng=seed)
        self.p = with_overrides(params, **overrides)
        self.seed = seed
        self.streams = Streams(seed)
        p = self.p
        self.fields, self.institutions, self.researchers = population.create(
            p, self.streams.population
        )
        self.timeline = Timeline(p.timeline)
        self.n = p.population.n_researchers
        self.total_steps = steps_for(p.run.years)
        self.evaluation_steps = steps_for(p.incentives.evaluation_interval_years)
        window = self.timeline.max_value(
            "incentives.evaluation_window_years", p.incentives.evaluation_window_years
        )
        self.record = incentives.Record(
            self.n, steps_for(window), steps_for(p.incentives.evaluation_window_years)
        )
        # successful projects awaiting recognition: rows slot, person id, step due; impact
        self.pending = np.empty((3, 0), np.int64)
        self.pending_impact = np.empty(0)
        self.people_hired = self.n  # person ids so far; newcomers get the next ones
        self.running = True
        self._agent_views_built = False
        self._prepare_posts()
        self._set_institution_state()
        self._evaluate(year=p.run.start_year, with_careers=False)
        self.metrics: dict[str, float] = {}
        self.datacollector = MetricsCollector(STEP_METRICS)

    def _prepare_posts(self):
        """What is fixed per post (field, institution) and the arrays reused every step."""
        r, f, n = self.researchers, self.fields, self.n
        self.post = r.institution * len(f.names) + r.field  # index into (institution, field)
        self.priority_of_researcher = f.priority[r.field]
        self.field_groups = {
            "exposed": f.exposed,
            "unexposed": ~f.exposed,
            "priority": f.priority,
            "nonpriority": ~f.priority,
        }
        self.group_fields = {g: np.flatnonzero(m).tolist() for g, m in self.field_groups.items()}
        sizes = np.bincount(r.field, minlength=len(f.names))
        self.group_sizes = {name: sizes[mask].sum() for name, mask in self.field_groups.items()}
        # each stream fills the same array every time: the same draws, without new memory
        self._u_collaboration = np.empty(n)
        self._u_production = np.empty((7, n))
        self._u_ties = np.empty(n)
        self._u_careers = np.empty((4, n))
        self._normal_careers = np.empty((3, n))

    # --- the user's view -------------------------------------------------------------------
    @property
    def agents(self):
        """All researchers as Mesa agents (built on first access; their state is in arrays)."""
        if not self._agent_views_built:
            self._agent_views_built = True
            for slot in range(self.n):
                Researcher(self, slot)
            # Mesa 3.3 counts agent ids in a class-level dict keyed by model, which would keep
            # every model alive; the views are all made, so the counter is no longer needed.
            getattr(mesa.Agent, "_ids", {}).pop(self, None)
        return super().agents

    @property
    def year(self) -> float:
        """Calendar year at the start of the current step."""
        return self.p.run.start_year + max(self.steps - 1, 0) * STEP_YEARS

    # --- one quarter -----------------------------------------------------------------------
    def step(self):
        p, year = self.p, self.year
        applied = self.timeline.apply_due(year, p)
        if applied:
            self._after_events(applied)

        field_loss = export_controls.input_loss(year, self.fields.exposure, p)
        self._update_collaboration(field_loss)
        out = self._produce(field_loss)

        if self.steps % self.evaluation_steps == 0:
            self._evaluate(year + STEP_YEARS, with_careers=True)
        self._record_metrics(year, out)
        self.datacollector.collect(self)
        if self.steps >= self.total_steps:
            self.running = False

    def _update_collaboration(self, field_loss):
        """Foreign collaborations form and break (collaboration.py), from one uniform each."""
        r, dt = self.researchers, STEP_YEARS
        u = self.streams.collaboration.random(out=self._u_collaboration)
        if field_loss.any():  # the chances differ by field as well as by institution
            forming = collaboration.formation_chance(
                self.intensity[:, None], field_loss[None, :], self.p, dt
            ).ravel()[self.post]
            breaking = collaboration.dissolution_chance(field_loss, self.p, dt)[r.field]
        else:  # a loss of 0 multiplies by exactly 1: the chances depend on the institution only
            forming = self.formation_chance
            breaking = collaboration.dissolution_chance(0.0, self.p, dt)
        r.foreign = np.where(r.foreign, u >= breaking, u < forming)

    def _produce(self, field_loss) -> dict:
        """Papers, exploratory projects and breakthroughs for one step (production.py).

        Written with in-place operations on preallocated arrays; the arithmetic is the rule of
        production.py term by term, so results do not depend on these shortcuts.
        """
        p, r, dt = self.p, self.researchers, STEP_YEARS
        pp = p.production
        u = self.streams.production.random(out=self._u_production)
        shocked = field_loss.any()

        # effort = research time x productivity x (1 + paper_boost if foreign) x dt
        effort = np.where(r.foreign, 1.0 + p.collaboration.paper_boost, 1.0)
        np.multiply(self.time_productivity, effort, out=effort)
        effort *= dt
        capacity = effort * pp.papers_per_year  # papers if all research time went to papers
        exploring = np.where(r.project_active, r.exploratory_share, 0.0)

        split = incentives.splitting_factor(p)
        expected = np.subtract(1.0, exploring)
        expected *= capacity
        if shocked:  # without a shock the inputs factor is exactly 1
            inputs = (1.0 - p.export_controls.paper_dependence * field_loss)[r.field]
            expected *= inputs
        expected *= split
        papers = production.stochastic_round(expected, u[0], out=expected)
        breakthrough = u[1] < papers * r.breakthrough_chance
        recognized = papers * (r.ability / split)

        exploring_effort = np.multiply(exploring, effort, out=effort)
        r.project_progress += exploring_effort
        done = np.flatnonzero(r.project_active & (r.project_progress >= r.project_effort))
        loss_done = field_loss[r.field[done]]
        success = u[4, done] < production.success_chance(r.foreign[done], loss_done, p)
        impact = production.project_impact(r.ability[done], u[5, done], p)
        big = success & (impact > pp.breakthrough_threshold)
        papers[done] += np.where(success, pp.project_papers, pp.project_papers / 2)
        r.project_active[done] = False
        self._schedule(
            done[success], impact[success], production.recognition_delay(u[6, done[success]], p)
        )
        self._recognize(into=recognized)

        idle = np.flatnonzero(~r.project_active & (r.exploratory_share > 0))
        refusal = oversight.refusal_probability(
            self.intensity_of_researcher[idle],
            self.priority_of_researcher[idle],
            r.ties[idle],
            self.technocratic_of_researcher[idle],
            p,
        )
        start = idle[u[2, idle] >= refusal]
        r.project_active[start] = True
        r.project_progress[start] = 0.0
        r.project_effort[start] = production.project_effort(u[3, start], p)

        credited = papers
        if p.incentives.failure_tolerance > 0:  # otherwise the credit adds exactly 0
            forgone = capacity * exploring
            if shocked:
                forgone *= inputs
            forgone *= split
            credited = papers + p.incentives.failure_tolerance * forgone
        self.record.add(credited, recognized)
        r.papers += papers
        r.impact += recognized
        winners = np.concatenate([np.flatnonzero(breakthrough), done[big]])
        return {
            "papers": papers.sum(),
            "flops": int((~success).sum()),
            "by_field": np.bincount(r.field[winners], minlength=len(self.fields.names)),
        }

    def _schedule(self, slots, impact, delay_years):
        due = self.steps + np.ceil(delay_years / STEP_YEARS).astype(np.int64)
        new = np.stack([slots, self.researchers.person_id[slots], due])
        self.pending = np.concatenate([self.pending, new], axis=1)
        self.pending_impact = np.concatenate([self.pending_impact, impact])

    def _recognize(self, into: np.ndarray) -> None:
        """Add the impact whose recognition is due this step to researchers still in post.

        Impacts due to the same researcher are summed first, in the order they were made.
        """
        due = self.pending[2] <= self.steps
        if not due.any():
            return
        slot, person, _ = self.pending[:, due]
        present = person == self.researchers.person_id[slot]
        slot, impact = slot[present], self.pending_impact[due][present]
        ordered = np.sort(slot)
        if (ordered[1:] != ordered[:-1]).all():  # one impact per researcher: add it
            into[slot] += impact
        else:
            who, order = np.unique(slot, return_inverse=True)
            total = np.zeros(who.size)
            np.add.at(total, order, impact)
            into[who] += total
        self.pending, self.pending_impact = self.pending[:, ~due], self.pending_impact[~due]

    # --- evaluation, careers and funding ---------------------------------------------------
    def _evaluate(self, year: float, with_careers: bool):
        p, r, dt = self.p, self.researchers, self.p.incentives.evaluation_interval_years
        if with_careers:
            self.institutions.technocratic, changed = leadership.turnover(
                self.institutions.technocratic, self.streams.leadership, p, dt
            )
            u_ties = self.streams.leadership.random(out=self._u_ties)
            moved = np.flatnonzero(changed[r.institution])  # their ties are drawn anew
            r.ties[moved] = guanxi.draw_ties(u_ties[moved], p.guanxi.tie_concentration)
            self._set_institution_state()

        bonus = guanxi.favoritism(r.ties, self.technocratic_of_researcher, p)
        r.score = incentives.scores(*self.record.totals(), bonus, p)
        if with_careers:
            self._turn_over_researchers()

        fields = self.fields
        field_weight = oversight.centralization_weight(
            fields.priority, p
        ) * export_controls.self_reliance_weight(year, fields.exposed, fields.priority, p)
        post_weight = self.institutions.wealth[:, None] * field_weight[None, :]
        r.funding = incentives.funding(r.score, post_weight.ravel()[self.post], p)
        self.productivity = r.ability * r.funding**p.production.funding_elasticity
        self.time_productivity = self.time_of_researcher * self.productivity
        self.funding_gini = gini(r.funding)
        self.allocation_efficiency = allocation_efficiency(r.funding, r.ability)

    def _turn_over_researchers(self):
        p, r = self.p, self.researchers
        rng = self.streams.careers
        u = rng.random(out=self._u_careers)
        normal = rng.standard_normal(out=self._normal_careers)
        leavers = careers.lowest(r.score, p.careers.exit_fraction)
        cumulative = np.cumsum(r.funding)
        share = careers.imitate(
            r.exploratory_share, r.score, r.funding, u[0], u[1], normal[0], p, cumulative
        )
        mentors = careers.choose_by_funding(r.funding, u[2, leavers], cumulative)
        share[leavers] = careers.copied_share(r.exploratory_share[mentors], normal[1, leavers], p)
        r.exploratory_share = share

        r.person_id[leavers] = self.people_hired + np.arange(leavers.size)
        self.people_hired += leavers.size
        r.ability[leavers] = np.exp(p.population.ability_sigma * normal[2, leavers])
        r.breakthrough_chance[leavers] = production.incremental_breakthrough_chance(
            r.ability[leavers], p
        )
        r.ties[leavers] = guanxi.draw_ties(u[3, leavers], p.guanxi.tie_concentration)
        r.foreign[leavers] = False
        r.project_active[leavers] = False
        r.project_progress[leavers] = 0.0
        r.papers[leavers] = 0.0
        r.impact[leavers] = 0.0
        self.record.clear(leavers)
        # a newcomer has no record yet: its first score is the favour of its own new ties
        newcomer_bonus = guanxi.favoritism(
            r.ties[leavers], self.technocratic_of_researcher[leavers], p
        )
        r.score[leavers] = np.clip(newcomer_bonus, -incentives.SCORE_CLIP, incentives.SCORE_CLIP)

    def _set_institution_state(self):
        """Oversight and leadership seen by each researcher; they change only at evaluations
        and dated events, so the steps in between reuse them."""
        inst, r = self.institutions, self.researchers
        merged = leadership.merged(inst.merge_draw, self.p.leadership.merged_share)
        self.intensity = oversight.institution_intensity(merged, self.p)
        self.intensity_of_researcher = self.intensity[r.institution]
        self.technocratic_of_researcher = inst.technocratic[r.institution]
        # per institution, then per researcher: the same values for a fraction of the work
        time = oversight.research_time(self.intensity, self.p)
        self.time_of_researcher = time[r.institution]
        self.research_time_share = float(self.time_of_researcher.mean())
        forming = collaboration.formation_chance(self.intensity, 0.0, self.p, STEP_YEARS)
        self.formation_chance = forming[r.institution]

    def _after_events(self, events):
        keys = {e.key for e in events}
        if any("evaluation_window_years" in k for k in keys):
            self.record.set_window(steps_for(self.p.incentives.evaluation_window_years))
        if any("evaluation_interval_years" in k for k in keys):
            self.evaluation_steps = steps_for(self.p.incentives.evaluation_interval_years)
        r = self.researchers
        r.breakthrough_chance = production.incremental_breakthrough_chance(r.ability, self.p)
        self._set_institution_state()
        self.time_productivity = self.time_of_researcher * self.productivity

    # --- outputs ---------------------------------------------------------------------------
    def _record_metrics(self, year, out):
        r, dt, n = self.researchers, STEP_YEARS, self.n
        by_field = out["by_field"].tolist()
        total = sum(by_field)
        self.metrics = {
            "year": year,
            "breakthroughs": total,
            "breakthrough_rate": rate_per_thousand(total, n, dt),
            "papers_per_researcher_year": out["papers"] / (n * dt),
            "exploratory_share": float(r.exploratory_share.sum()) / n,
            "exploring_share": np.count_nonzero(r.project_active) / n,
            "research_time_share": self.research_time_share,
            "foreign_collaboration_share": np.count_nonzero(r.foreign) / n,
            "funding_gini": self.funding_gini,
            "allocation_efficiency": self.allocation_efficiency,
            "flops": out["flops"],
            "technocrat_share": np.count_nonzero(self.institutions.technocratic)
            / self.institutions.technocratic.size,
        }
        for name, fields in self.group_fields.items():
            count = sum(by_field[i] for i in fields)
            self.metrics[f"breakthroughs_{name}"] = count
            self.metrics[f"breakthrough_rate_{name}"] = rate_per_thousand(
                count, self.group_sizes[name], dt
            )

    def run(self) -> "ResearchModel":
        """Run all `run.years` (Mesa's `run_model` does the same); return the model."""
        while self.running:
            self.step()
        return self

    def timeseries(self):
        """One row per step: step, year and every metric (a pandas DataFrame)."""
        df = self.datacollector.get_model_vars_dataframe()
        df.insert(0, "step", np.arange(1, len(df) + 1))
        return df.reset_index(drop=True)

    def run_metrics(self) -> dict[str, float]:
        """Whole-run figures: totals, rates per 1,000 researcher-years and time means."""
        v = {k: np.asarray(x, dtype=float) for k, x in self.datacollector.model_vars.items()}
        years = len(v["year"]) * STEP_YEARS
        out = {
            "years": years,
            "breakthroughs": v["breakthroughs"].sum(),
            "breakthrough_rate": rate_per_thousand(v["breakthroughs"].sum(), self.n, years),
            "papers_per_researcher_year": v["papers_per_researcher_year"].mean(),
            "exploratory_share": v["exploratory_share"].mean(),
            "final_exploratory_share": v["exploratory_share"][-1],
            "research_time_share": v["research_time_share"].mean(),
            "foreign_collaboration_share": v["foreign_collaboration_share"].mean(),
            "funding_gini": v["funding_gini"].mean(),
            "allocation_efficiency": v["allocation_efficiency"].mean(),
            "flops": v["flops"].sum(),
            "flop_rate": rate_per_thousand(v["flops"].sum(), self.n, years),
        }
        for g in GROUPS:
            out[f"breakthrough_rate_{g}"] = rate_per_thousand(
                v[f"breakthroughs_{g}"].sum(), self.group_sizes[g], years
            )
        return {k: float(x) for k, x in out.items()}
