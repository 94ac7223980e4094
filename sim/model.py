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
    kernels,
    leadership,
    oversight,
    population,
    production,
    streams,
)
from .agents import Researcher
from .collector import MetricsCollector
from .metrics import allocation_efficiency, gini, rate_per_thousand
from .params import Params, with_overrides
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
        self.streams = streams.Streams(seed)
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
        self.pending = production.RecognitionQueue()
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
        self._u_ties = np.empty(n)
        self._done, self._start = np.empty(n, np.intp), np.empty(n, np.intp)
        self._succeeded = np.empty(n, bool)

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
        out = self._produce(field_loss)

        if self.steps % self.evaluation_steps == 0:
            self._evaluate(year + STEP_YEARS, with_careers=True)
        self._record_metrics(year, out)
        self.datacollector.collect(self)
        if self.steps >= self.total_steps:
            self.running = False

    def _produce(self, field_loss) -> dict:
        """Collaborations form and break (collaboration.py); researchers produce papers, run
        exploratory projects and make breakthroughs (production.py); credit enters the record.

        One compiled pass over the researchers (kernels.py) applies those modules' rules; what
        follows the projects that ended or started, and recognition, is done here.
        """
        p, r, dt = self.p, self.researchers, STEP_YEARS
        pp, o, n_fields = p.production, p.oversight, len(self.fields.names)
        u_collaboration = self.streams.collaboration.random(out=self._u_collaboration)
        words = streams.words(self.streams.production, kernels.PRODUCTION_WORDS, self.n)
        if field_loss.any():  # the chances differ by field as well as by institution
            forming = collaboration.formation_chance(
                self.intensity[:, None], field_loss[None, :], p, dt
            ).ravel()[self.post]
            breaking = collaboration.dissolution_chance(field_loss, p, dt)
        else:  # a loss of 0 multiplies by exactly 1: the chances depend on the institution only
            forming = self.formation_chance
            breaking = np.full(n_fields, collaboration.dissolution_chance(0.0, p, dt))
        inputs = 1.0 - p.export_controls.paper_dependence * field_loss  # exactly 1 without loss
        split = incentives.splitting_factor(p)
        constants = np.array([
            p.collaboration.paper_boost, dt, pp.papers_per_year, split,
            pp.project_success, p.collaboration.success_boost,
            p.export_controls.success_dependence, pp.project_papers,
            o.max_rejection, o.priority_favor, o.loyalty_favor, p.incentives.failure_tolerance,
        ])  # fmt: skip
        papers_row, impact_row = self.record.next_rows()
        by_field = np.zeros(n_fields, np.int64)
        papers, ended, started = kernels.step_researchers(
            r.foreign, u_collaboration, forming, breaking, r.field, self.time_productivity,
            r.project_active, r.exploratory_share, r.project_progress, r.project_effort,
            r.breakthrough_chance, r.ability, field_loss, inputs, words,
            self.intensity_of_researcher, self.priority_of_researcher, r.ties,
            self.technocratic_of_researcher, constants,
            papers_row, impact_row, r.papers, r.impact,
            self._done, self._succeeded, self._start, by_field,
        )  # fmt: skip
        done, success = self._done[:ended], self._succeeded[:ended]
        impact = production.project_impact(
            r.ability[done], streams.uniform(words, kernels.IMPACT, done), p
        )
        big = success & (impact > pp.breakthrough_threshold)
        winners = done[success]
        delay = production.recognition_delay(streams.uniform(words, kernels.DELAY, winners), p)
        self._schedule(winners, impact[success], delay)
        self._recognize(impact_row)

        start = self._start[:started]
        r.project_progress[start] = 0.0
        effort_draw = streams.uniform(words, kernels.EFFORT, start)
        r.project_effort[start] = production.project_effort(effort_draw, p)
        by_field += np.bincount(r.field[done[big]], minlength=n_fields)
        return {"papers": papers, "flops": int((~success).sum()), "by_field": by_field}

    def _schedule(self, slots, impact, delay_years):
        due = self.steps + np.ceil(delay_years / STEP_YEARS).astype(np.int64)
        self.pending.push(due, slots, self.researchers.person_id[slots], impact)

    def _recognize(self, impact_row: np.ndarray) -> None:
        """Add the impact whose recognition is due this step to researchers still in post: to
        their lifetime impact and to this step's row of the record."""
        slot, person, impact = self.pending.pop(self.steps)
        present = person == self.researchers.person_id[slot]
        slot, impact = slot[present], impact[present]
        np.add.at(self.researchers.impact, slot, impact)
        np.add.at(impact_row, slot, impact.astype(impact_row.dtype))

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
        words = streams.words(self.streams.careers, careers.WORDS, self.n)
        leavers = careers.lowest(r.score, p.careers.exit_fraction)
        u_try, u_pick, u_copy_noise = (
            streams.uniform(words, which)
            for which in (careers.TRY, careers.PEER, careers.COPY_NOISE)
        )
        u_mentor, u_mentor_noise, u_ability, u_ties = (
            streams.uniform(words, which, leavers)
            for which in (careers.MENTOR, careers.MENTOR_NOISE, careers.ABILITY, careers.TIES)
        )
        cumulative = np.cumsum(r.funding)
        share = careers.imitate(
            r.exploratory_share, r.score, r.funding, u_try, u_pick, u_copy_noise, p, cumulative
        )
        mentors = careers.choose_by_funding(r.funding, u_mentor, cumulative)
        share[leavers] = careers.copied_share(r.exploratory_share[mentors], u_mentor_noise, p)
        r.exploratory_share = share

        r.person_id[leavers] = self.people_hired + np.arange(leavers.size)
        self.people_hired += leavers.size
        r.ability[leavers] = careers.newcomer_ability(u_ability, p)
        r.breakthrough_chance[leavers] = production.incremental_breakthrough_chance(
            r.ability[leavers], p
        )
        r.ties[leavers] = guanxi.draw_ties(u_ties, p.guanxi.tie_concentration)
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
