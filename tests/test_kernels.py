"""The compiled step (sim/kernels.py) against the rules of the mechanism modules, value by value.

One step of `kernels.step_researchers` on a model's state, with an export-control loss, failure
tolerance and merged leaderships so that every term is at work, must give exactly what the
modules' own functions give: collaborations (collaboration.update), incremental papers
(production.stochastic_round), project success (production.success_chance), approval
(oversight.refusal_probability) and credited papers (incentives.py). The kernel's uniforms must
be those of `streams.uniform`, and the record's window totals the plain sums of its rows.
"""

import numpy as np
import pytest

from sim import ResearchModel, collaboration, incentives, kernels, oversight, production, streams
from sim.production import Production

LEVERS = {
    "n_researchers": 3000,
    "failure_tolerance": 0.5,
    "merged_share": 0.5,
    "export_controls.enabled": True,
    "export_controls.start_year": 2015.0,
}


def test_one_compiled_step_follows_each_mechanisms_rule():
    model = ResearchModel(seed=3, **LEVERS)
    for _ in range(6):  # some projects under way
        model.step()
    p, r, dt, n = model.p, model.researchers, 0.25, model.n
    producer = next(m for m in model.mechanisms if isinstance(m, Production))
    rng = np.random.default_rng(5)
    loss = rng.uniform(0, 0.8, len(model.fields.names))
    intensity = model.institutions.intensity[r.institution]
    model.fields.input_loss[:] = loss
    r.forming_chance = collaboration.formation_chance(intensity, loss[r.field], p, dt)
    model.fields.breaking_chance[:] = collaboration.dissolution_chance(loss, p, dt)
    u_collaboration = r.collaboration_draw = rng.random(n)
    words = streams.words(rng, kernels.PRODUCTION_WORDS, n)
    u = {k: streams.uniform(words, k) for k in range(8)}
    r.proposal_reshaped[:] = rng.random(n) < 0.3  # some proposals were reshaped before
    state = ("foreign", "project_active", "project_progress", "proposal_reshaped")
    before = {k: getattr(r, k).copy() for k in state}
    papers_total, impact_total = r.papers.copy(), r.impact.copy()

    inputs = 1.0 - p.export_controls.paper_dependence * loss
    split = incentives.splitting_factor(p)
    pp = p.production
    credited, recognized = np.empty(n, np.float32), np.empty(n, np.float32)
    done, succeeded, start = np.empty(n, np.intp), np.empty(n, bool), np.empty(n, np.intp)
    by_field = np.zeros(len(model.fields.names), np.int64)
    out = kernels.StepOutputs(
        credited, recognized, r.papers, r.impact, done, succeeded, start, by_field
    )
    at_round = producer.step_inputs(words)._replace(approval_round=True)
    papers, ended, started, judged, waiting = kernels.step_researchers(
        at_round, producer.constants, out
    )
    done, succeeded, start = done[:ended], succeeded[:ended], start[:started]
    assert ended > 0 and succeeded.any() and not succeeded.all() and started > 0

    foreign = collaboration.update(
        before["foreign"], intensity, loss[r.field], u_collaboration, p, dt
    )
    np.testing.assert_array_equal(r.foreign, foreign)

    effort = producer.time_productivity * production.output_boost(foreign, loss[r.field], p)
    effort = effort * dt
    exploring = np.where(before["project_active"], r.exploratory_share, 0.0)
    capacity = effort * pp.papers_per_year
    expected = (1.0 - exploring) * capacity * inputs[r.field] * split
    incremental = production.stochastic_round(expected, u[kernels.PAPERS])
    impact = incremental * (r.ability / split)
    np.testing.assert_array_equal(recognized, impact.astype(np.float32))
    np.testing.assert_array_equal(r.impact, impact_total + impact)
    breakthroughs = u[kernels.BREAKTHROUGH] < incremental * r.breakthrough_chance
    np.testing.assert_array_equal(
        by_field, np.bincount(r.field[breakthroughs], minlength=by_field.size)
    )
    progress = before["project_progress"] + exploring * effort
    ends = before["project_active"] & (progress >= r.project_effort)
    np.testing.assert_array_equal(done, np.flatnonzero(ends))

    chance = production.success_chance(foreign[done], loss[r.field[done]], p)
    np.testing.assert_array_equal(succeeded, u[kernels.SUCCESS][done] < chance)
    incremental[done] += production.project_paper_count(succeeded, p)
    assert papers == pytest.approx(incremental.sum(), rel=1e-12)  # summed in another order
    np.testing.assert_array_equal(r.papers, papers_total + incremental)
    forgone = capacity * exploring * inputs[r.field] * split
    np.testing.assert_array_equal(
        credited, (incremental + p.incentives.failure_tolerance * forgone).astype(np.float32)
    )

    idle = np.flatnonzero((~before["project_active"] | ends) & (r.exploratory_share > 0))
    assert judged == idle.size and waiting == idle.size - started
    on_merit = oversight.judged_on_merit(model.institutions.technocratic[r.institution], p)
    standing = np.where(on_merit, oversight.merit_rank(r.merit), oversight.tie_rank(r.ties, p))
    reshaped = before["proposal_reshaped"][idle]
    aligned = model.fields.priority[r.field[idle]] | reshaped
    refusal = oversight.refusal_probability(
        intensity[idle], aligned, standing[idle], on_merit[idle], p
    )
    approved = u[kernels.APPROVAL][idle] >= refusal
    np.testing.assert_array_equal(start, idle[approved])
    np.testing.assert_array_equal(r.project_reshaped[start], reshaped[approved])
    refused = idle[~approved]
    np.testing.assert_array_equal(
        r.proposal_reshaped[refused], u[kernels.RESHAPE][refused] < p.oversight.reshape_chance
    )
    assert not r.proposal_reshaped[start].any()
    np.testing.assert_array_equal(
        r.project_active, (before["project_active"] & ~ends) | np.isin(np.arange(n), start)
    )


def test_proposals_wait_between_rounds():
    model = ResearchModel(seed=3, n_researchers=500, burn_in_years=1)
    producer = model.mechanism("production")
    n = model.n
    words = streams.words(np.random.default_rng(1), kernels.PRODUCTION_WORDS, n)
    out = kernels.StepOutputs(
        np.empty(n, np.float32),
        np.empty(n, np.float32),
        np.zeros(n),
        np.zeros(n),
        np.empty(n, np.intp),
        np.empty(n, bool),
        np.empty(n, np.intp),
        np.zeros(len(model.fields.names), np.int64),
    )
    between = producer.step_inputs(words)._replace(approval_round=False)
    waiting_before = ~model.researchers.project_active & (model.researchers.exploratory_share > 0)
    counts = kernels.step_researchers(between, producer.constants, out)
    assert counts.judged == counts.started == 0
    assert counts.waiting >= waiting_before.sum() > 0


def test_uniforms_are_strictly_inside_zero_one_and_uniform():
    extremes = np.array([[0, 2**64 - 1]], dtype=np.uint64)
    values = np.concatenate([streams.uniform(extremes, k) for k in (0, 1)])
    assert values.min() > 0 and values.max() < 1
    u = streams.uniform(streams.words(np.random.default_rng(1), 1, 200_000), 1)
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001


def test_window_totals_skip_rows_before_a_researchers_first_step():
    record = incentives.Record(n=3, capacity=4, window=3)
    for step in range(5):  # rows of steps 2, 3, 4 are in the window
        record.add(np.full(3, step, float), np.full(3, 10.0 * step))
        if step == 2:
            record.clear(np.array([1]))  # researcher 1's successor starts at step 3
    papers, impact = record.totals()
    assert papers.tolist() == [9.0, 7.0, 9.0] and impact.tolist() == [90.0, 70.0, 90.0]
