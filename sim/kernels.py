"""Compiled loops: a step's collaboration and production in one pass, the record's totals, and
two walks over sorted arrays (choosing peers by funding, queueing recognition).

These apply, per researcher and with numba, the rules that the mechanism modules state and that
tests/test_kernels.py checks value by value against those modules' own functions: foreign
collaborations form and break (collaboration.py); incremental papers by stochastic rounding,
breakthroughs, recognized impact, progress and end of exploratory projects (production.py);
approval of new projects (oversight.py); credited papers and the record's window totals
(incentives.py). The sparse parts (what follows the projects that end or start, and delayed
recognition) stay in numpy, in those modules' functions.

One pass reads each researcher's state once, where numpy would read it once per operation; at
100,000 researchers the arrays outgrow the core's cache, so that is most of the time saved.
The production stream's uniforms come as raw words (streams.py), turned into uniforms here.
"""

import numpy as np
from numba import njit

from .streams import HALF_WORD, LOW_HALF, UNIT

# the production stream's words per researcher and step, and the uniform each half gives
PRODUCTION_WORDS = 4
PAPERS, BREAKTHROUGH, APPROVAL, EFFORT, SUCCESS, IMPACT, DELAY = range(7)  # the 8th is spare


@njit(inline="always")
def _uniform(words, which, i):
    """Uniform number `which` of researcher i, from its words: `streams.uniform` for one value."""
    word = words[which // 2, i]
    half = word >> HALF_WORD if which % 2 == 0 else word & LOW_HALF
    return (half + 0.5) * UNIT


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
    words,  # the production stream's words, PRODUCTION_WORDS x n
    intensity,  # oversight intensity, per researcher (oversight.py)
    priority,  # bool, per researcher
    ties,
    technocratic,  # bool, per researcher
    c,  # constants, see model._produce
    record_papers,  # out: this step's credited papers in the record (float32)
    record_impact,  # out: this step's impact recognized at once, in the record (float32)
    total_papers,  # updated
    total_impact,  # updated
    done,  # out: researchers whose project ended, first `n_done` entries
    succeeded,  # out: whether it succeeded, same order
    start,  # out: researchers whose proposal was approved, first `n_start` entries
    breakthroughs_by_field,  # out, added to
):
    """One step for every researcher, in one pass. Returns (papers made, n_done, n_start)."""
    paper_boost, dt, papers_per_year, split = c[0], c[1], c[2], c[3]
    project_success, success_boost, success_dependence, project_papers = c[4], c[5], c[6], c[7]
    max_rejection, priority_favor, loyalty_favor, failure_tolerance = c[8], c[9], c[10], c[11]
    n_done = n_start = 0
    papers_made = 0.0
    for i in range(field.size):
        f, active = field[i], project_active[i]
        if foreign[i]:
            has_foreign = u_collaboration[i] >= breaking[f]
        else:
            has_foreign = u_collaboration[i] < forming[i]
        foreign[i] = has_foreign
        boost = 1.0 + paper_boost if has_foreign else 1.0
        effort = time_productivity[i] * boost * dt
        capacity = effort * papers_per_year
        share = exploratory_share[i] if active else 0.0
        expected = (1.0 - share) * capacity * inputs[f] * split
        whole = np.floor(expected)
        n_papers = whole + (1.0 if _uniform(words, PAPERS, i) < expected - whole else 0.0)
        if _uniform(words, BREAKTHROUGH, i) < n_papers * breakthrough_chance[i]:
            breakthroughs_by_field[f] += 1
        recognized = n_papers * (ability[i] / split)
        record_impact[i] = recognized
        total_impact[i] += recognized
        progress = project_progress[i] + share * effort
        project_progress[i] = progress
        if active and progress >= project_effort[i]:  # the project ends
            boost = 1.0 + success_boost * (1.0 if has_foreign else 0.0)
            chance = min(1.0, project_success * boost * (1.0 - success_dependence * loss[f]))
            success = _uniform(words, SUCCESS, i) < chance
            n_papers += project_papers if success else project_papers / 2
            active = False
            done[n_done], succeeded[n_done] = i, success
            n_done += 1
        if not active and exploratory_share[i] > 0:  # proposes a project
            priority_cut = 1.0 - priority_favor * (1.0 if priority[i] else 0.0)
            loyalty_cut = 1.0 - loyalty_favor * ties[i] * (0.0 if technocratic[i] else 1.0)
            refusal = intensity[i] * max_rejection * priority_cut * loyalty_cut
            if _uniform(words, APPROVAL, i) >= refusal:
                active = True
                start[n_start] = i
                n_start += 1
        project_active[i] = active
        credited = n_papers
        if failure_tolerance > 0:
            credited = n_papers + failure_tolerance * (capacity * share * inputs[f] * split)
        record_papers[i] = credited
        total_papers[i] += n_papers
        papers_made += n_papers
    return papers_made, n_done, n_start


@njit(cache=True)
def window_totals(rows, cursor, window, steps, first_step):
    """Sums of the last `window` rows of the record's ring buffer (incentives.Record), newest
    first, in float64: (credited papers, recognized impact) per researcher. The row written at
    step `steps - back` counts for researcher i only from i's `first_step` on."""
    capacity, kinds, n = rows.shape
    totals = np.zeros((kinds, n))
    for back in range(1, window + 1):
        row, step = rows[(cursor - back) % capacity], steps - back
        for k in range(kinds):
            for i in range(n):
                if step >= first_step[i]:
                    totals[k, i] += row[k, i]
    return totals


@njit(cache=True)
def search_sorted_targets(cumulative, targets, out):
    """`np.searchsorted(cumulative, targets, side="right")` for ascending targets, written to
    `out`: one merge-like walk of both arrays instead of a binary search per target."""
    j = 0
    for k in range(targets.size):
        while j < cumulative.size and cumulative[j] <= targets[k]:
            j += 1
        out[k] = j


@njit(cache=True)
def merge_by_due(items, impact, new_items, new_impact):
    """Two queues sorted by their first row (the step due) merged into one, the first queue's
    items before the second's among equal steps (production.RecognitionQueue)."""
    m, k = items.shape[1], new_items.shape[1]
    merged, merged_impact = np.empty((3, m + k), np.int64), np.empty(m + k)
    i = j = 0
    for out in range(m + k):
        if j == k or (i < m and items[0, i] <= new_items[0, j]):
            for row in range(3):
                merged[row, out] = items[row, i]
            merged_impact[out] = impact[i]
            i += 1
        else:
            for row in range(3):
                merged[row, out] = new_items[row, j]
            merged_impact[out] = new_impact[j]
            j += 1
    return merged, merged_impact
