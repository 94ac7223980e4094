"""Fused loops: a step's collaboration and production in two passes, and the record's totals.

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
def collaborate_and_produce(
    foreign,  # bool, updated: collaboration.py
    u_collaboration,
    forming,  # chance of gaining a collaborator, per researcher
    breaking,  # chance of losing one, per field
    field,
    time_productivity,
    project_active,  # bool
    exploratory_share,
    project_progress,  # updated
    project_effort,
    breakthrough_chance,
    ability,
    inputs,  # 1 - paper_dependence x input loss, per field
    u_papers,
    u_breakthrough,
    paper_boost,
    dt,
    papers_per_year,
    split,
    papers,  # out: incremental papers
    recognized,  # out: impact recognized at once
    capacity,  # out: papers if all research time went to papers
    exploring,  # out: exploratory share while a project runs, else 0
    done,  # out: researchers whose project ended, first `count` entries
    breakthroughs_by_field,  # out, added to
):
    """First pass: collaborations, incremental output and project progress. Returns how many
    projects ended (their indices are in `done`)."""
    count = 0
    for i in range(field.size):  # written without branches where the outcome is a coin toss
        f, active = field[i], project_active[i]
        kept = u_collaboration[i] >= breaking[f]
        gained = u_collaboration[i] < forming[i]
        has_foreign = (foreign[i] & kept) | (~foreign[i] & gained)
        foreign[i] = has_foreign
        boost = 1.0 + paper_boost if has_foreign else 1.0
        effort = time_productivity[i] * boost * dt
        cap = effort * papers_per_year
        share = exploratory_share[i] if active else 0.0
        expected = (1.0 - share) * cap * inputs[f] * split
        whole = np.floor(expected)
        n_papers = whole + (1.0 if u_papers[i] < expected - whole else 0.0)
        if u_breakthrough[i] < n_papers * breakthrough_chance[i]:
            breakthroughs_by_field[f] += 1
        papers[i] = n_papers
        recognized[i] = n_papers * (ability[i] / split)
        capacity[i] = cap
        exploring[i] = share
        progress = project_progress[i] + share * effort
        project_progress[i] = progress
        done[count] = i
        count += active & (progress >= project_effort[i])
    return count


@njit(cache=True)
def start_and_credit(
    project_active,  # bool, updated
    exploratory_share,
    intensity,  # oversight intensity, per researcher
    priority,  # bool, per researcher
    ties,
    technocratic,  # bool, per researcher
    u_refusal,
    max_rejection,
    priority_favor,
    loyalty_favor,
    papers,
    capacity,
    exploring,
    inputs,
    field,
    split,
    failure_tolerance,
    recognized,
    record_papers,  # out: this step's row of the record (float32)
    record_impact,
    total_papers,  # updated
    total_impact,  # updated
    start,  # out: researchers whose proposal was approved, first `count` entries
):
    """Second pass: proposals (oversight.py's refusal chance), credited papers into the record
    (incentives.py), running totals. Returns how many projects start (indices in `start`)."""
    count = 0
    for i in range(field.size):
        priority_cut = 1.0 - priority_favor * (1.0 if priority[i] else 0.0)
        loyalty_cut = 1.0 - loyalty_favor * ties[i] * (0.0 if technocratic[i] else 1.0)
        refusal = intensity[i] * max_rejection * priority_cut * loyalty_cut
        idle = ~project_active[i] & (exploratory_share[i] > 0)
        starts = idle & (u_refusal[i] >= refusal)
        project_active[i] |= starts
        start[count] = i
        count += starts
        credited = papers[i]
        if failure_tolerance > 0:
            credited = papers[i] + failure_tolerance * (
                capacity[i] * exploring[i] * inputs[field[i]] * split
            )
        record_papers[i] = credited
        record_impact[i] = recognized[i]
        total_papers[i] += papers[i]
        total_impact[i] += recognized[i]
    return count


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
