"""Fused loops: a step's collaboration and production in one pass, and the record's totals.

These implement, per researcher and with numba, the same rules as the mechanism modules, which
state them and which the tests check: foreign collaborations form and break (collaboration.py);
incremental papers by stochastic rounding, breakthroughs, recognized impact, progress and end of
exploratory projects (production.py); approval of new projects (oversight.py); credited papers
and the record's window totals (incentives.py). The sparse parts (projects that end or start,
delayed recognition) and every logarithm or power stay in numpy, in those modules' functions.

They consume the same pre-drawn uniforms as the numpy code, one per researcher and use, so the
random streams and common random numbers are unchanged, and each value is computed with the same
floating-point operations in the same order, so outputs are identical (tests/test_golden.py).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def step_researchers(
    foreign,  # bool, updated: collaboration.py
    u_collaboration,
    forming,  # chance of gaining a collaborator, per researcher
    breaking,  # chance of losing one, per field
    field,
    time_productivity,
    project_active,  # bool, updated
    exploratory_share,
    project_progress,  # updated
    project_effort,
    breakthrough_chance,
    ability,
    loss,  # input loss, per field (export_controls.py)
    inputs,  # 1 - paper_dependence x input loss, per field
    u,  # the production stream's uniforms: papers, breakthrough, refusal, _, success, ...
    intensity,  # oversight intensity, per researcher (oversight.py)
    priority,  # bool, per researcher
    ties,
    technocratic,  # bool, per researcher
    c,  # constants, see model._produce
    papers,  # out: papers, incremental and from ended projects
    recognized,  # out: impact recognized at once
    record_papers,  # out: this step's credited papers in the record (float32)
    total_papers,  # updated
    done,  # out: researchers whose project ended, first `n_done` entries
    succeeded,  # out: whether it succeeded, same order
    start,  # out: researchers whose proposal was approved, first `n_start` entries
    breakthroughs_by_field,  # out, added to
):
    """One step for every researcher, in one pass. Returns (n_done, n_start)."""
    paper_boost, dt, papers_per_year, split = c[0], c[1], c[2], c[3]
    project_success, success_boost, success_dependence, project_papers = c[4], c[5], c[6], c[7]
    max_rejection, priority_favor, loyalty_favor, failure_tolerance = c[8], c[9], c[10], c[11]
    n_done = n_start = 0
    for i in range(field.size):  # written without branches where the outcome is a coin toss
        f, active = field[i], project_active[i]
        kept = u_collaboration[i] >= breaking[f]
        gained = u_collaboration[i] < forming[i]
        has_foreign = (foreign[i] & kept) | (~foreign[i] & gained)
        foreign[i] = has_foreign
        boost = 1.0 + paper_boost if has_foreign else 1.0
        effort = time_productivity[i] * boost * dt
        capacity = effort * papers_per_year
        share = exploratory_share[i] if active else 0.0
        expected = (1.0 - share) * capacity * inputs[f] * split
        whole = np.floor(expected)
        n_papers = whole + (1.0 if u[0, i] < expected - whole else 0.0)
        if u[1, i] < n_papers * breakthrough_chance[i]:
            breakthroughs_by_field[f] += 1
        recognized[i] = n_papers * (ability[i] / split)
        progress = project_progress[i] + share * effort
        project_progress[i] = progress
        if active and progress >= project_effort[i]:  # rare: the project ends
            boost = 1.0 + success_boost * (1.0 if has_foreign else 0.0)
            chance = min(1.0, project_success * boost * (1.0 - success_dependence * loss[f]))
            success = u[4, i] < chance
            n_papers += project_papers if success else project_papers / 2
            active = False
            done[n_done], succeeded[n_done] = i, success
            n_done += 1
        priority_cut = 1.0 - priority_favor * (1.0 if priority[i] else 0.0)
        loyalty_cut = 1.0 - loyalty_favor * ties[i] * (0.0 if technocratic[i] else 1.0)
        refusal = intensity[i] * max_rejection * priority_cut * loyalty_cut
        starts = ~active & (exploratory_share[i] > 0) & (u[2, i] >= refusal)
        project_active[i] = active | starts
        start[n_start] = i
        n_start += starts
        credited = n_papers
        if failure_tolerance > 0:
            credited = n_papers + failure_tolerance * (capacity * share * inputs[f] * split)
        papers[i] = n_papers
        record_papers[i] = credited
        total_papers[i] += n_papers
    return n_done, n_start


@njit(cache=True)
def window_totals(rows, cursor, window, steps, first_step):
    """Sums of the last `window` rows of the record's ring buffer (incentives.Record), newest
    first, in float64: (credited papers, recognized impact) per researcher. Row `steps - back`
    counts for researcher i only from i's `first_step` on."""
    capacity, kinds, n = rows.shape
    totals = np.zeros((kinds, n))
    for back in range(1, window + 1):
        row, step = rows[(cursor - back) % capacity], steps - back
        for k in range(kinds):
            for i in range(n):
                if step >= first_step[i]:
                    totals[k, i] += row[k, i]
    return totals
