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

Each kernel is called with Ctrl-C and SIGTERM held (`signals_held`): numba converts a kernel's
result by calling back into Python (`numba.core.serialize._numba_unpickle`) and does not check
that call for an error, so a KeyboardInterrupt or SIGTERM's SystemExit raised there ended the
process with SIGSEGV, or a SystemError ("returned a result with an exception set").
"""

import _signal
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from numba import njit

from .streams import HALF_WORD, LOW_HALF, UNIT

# the production stream's words per researcher and step, and the uniform each half gives
PRODUCTION_WORDS = 4
PAPERS, BREAKTHROUGH, APPROVAL, EFFORT, SUCCESS, IMPACT, DELAY, RESHAPE = range(8)


class StepInputs(NamedTuple):
    """What one step's pass reads, by name (built in `production.Production.step_inputs`)."""

    field: np.ndarray  # per researcher
    foreign: np.ndarray  # bool, updated (collaboration.py)
    u_collaboration: np.ndarray  # the collaboration stream's uniforms
    forming_chance: np.ndarray  # of gaining a foreign collaborator
    breaking_chance: np.ndarray  # of losing one, per field
    time_productivity: np.ndarray  # research time x ability x funding^elasticity
    project_active: np.ndarray  # bool, updated
    exploratory_share: np.ndarray
    project_progress: np.ndarray  # updated
    project_effort: np.ndarray
    breakthrough_chance: np.ndarray  # per incremental paper
    ability: np.ndarray
    refusal_chance: np.ndarray  # of an exploratory proposal at a round (oversight.py)
    refusal_chance_aligned: np.ndarray  # of one reshaped toward a priority
    proposal_reshaped: np.ndarray  # bool, updated: the waiting proposal was reshaped
    project_reshaped: np.ndarray  # bool, updated: the running project was
    approval_round: bool  # proposals are judged this step
    input_loss: np.ndarray  # per field (export_controls.py)
    words: np.ndarray  # the production stream's words, PRODUCTION_WORDS x n


class StepConstants(NamedTuple):
    """The parameters one step's pass uses, by name."""

    dt: float
    papers_per_year: float
    split: float  # incentives.splitting_factor
    paper_boost: float
    success_boost: float
    project_success: float
    project_papers: float
    reshape_chance: float
    success_dependence: float
    paper_dependence: float
    failure_tolerance: float


class StepOutputs(NamedTuple):
    """Where one step's pass writes, by name."""

    credited_papers: np.ndarray  # this step's row of the record (float32, incentives.py)
    recognized_impact: np.ndarray  # this step's row: impact recognized at once (float32)
    total_papers: np.ndarray  # lifetime, added to
    total_impact: np.ndarray  # lifetime, added to
    done: np.ndarray  # researchers whose project ended, first `n_done` entries
    succeeded: np.ndarray  # whether it succeeded, same order
    start: np.ndarray  # researchers whose proposal was approved, first `n_start` entries
    breakthroughs_by_field: np.ndarray  # added to


class StepCounts(NamedTuple):
    """What one step's pass counted."""

    papers: float  # made this step
    done: int  # projects ended (entries of `StepOutputs.done`)
    started: int  # proposals approved (entries of `StepOutputs.start`)
    judged: int  # proposals judged at this step's round
    waiting: int  # researchers whose proposal waits for a round at the step's end


@contextlib.contextmanager
def signals_held(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Meanwhile, hold Ctrl-C and SIGTERM: their Python handlers run when the block ends.

    Signals that are ignored or left to the system's default are not touched; in a thread other
    than the main one (where Python runs no signal handler) nothing is done, and inside another
    hold (around a whole model run, as the experiments do) neither: that hold holds them.
    """
    global _holding
    if _holding or threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def hold(signum, frame):
        arrived.append(signum)

    # The C module's calls, not `signal.signal`: its enum conversions cost 5 us a hold, which
    # a model pays every quarter (3% of a quarter at 2,000 researchers).
    handlers = {s: _signal.getsignal(s) for s in signums}
    handlers = {s: h for s, h in handlers.items() if callable(h)}
    for signum in handlers:
        _signal.signal(signum, hold)
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        for signum, handler in handlers.items():
            _signal.signal(signum, handler)  # runs `hold` first for any signal still pending
        for signum in dict.fromkeys(arrived):  # each once, in order of arrival
            handlers[signum](signum, None)


_holding = 0  # signals_held blocks open in the main thread


def held(kernel: Callable) -> Callable:
    """`kernel`, called with Ctrl-C and SIGTERM held (`signals_held`), unless they are held
    already (around a whole model run, as the experiments do: each hold costs microseconds)."""

    def call(*args):
        if _holding:
            return kernel(*args)
        with signals_held():
            return kernel(*args)

    call.__name__, call.__doc__, call.compiled = kernel.__name__, kernel.__doc__, kernel
    return call


@njit(inline="always")
def _uniform(words, which, i):
    """Uniform number `which` of researcher i, from its words: `streams.uniform` for one value."""
    word = words[which // 2, i]
    half = word >> HALF_WORD if which % 2 == 0 else word & LOW_HALF
    return (half + 0.5) * UNIT


@held
@njit(cache=True)
def step_researchers(s, c, out):
    """One step for every researcher, in one pass: inputs `s` (StepInputs), constants `c`
    (StepConstants), outputs `out` (StepOutputs). Returns the StepCounts."""
    n_done = n_start = n_judged = n_waiting = 0
    papers_made = 0.0
    words = s.words
    for i in range(s.field.size):
        f, active = s.field[i], s.project_active[i]
        if s.foreign[i]:
            has_foreign = s.u_collaboration[i] >= s.breaking_chance[f]
        else:
            has_foreign = s.u_collaboration[i] < s.forming_chance[i]
        s.foreign[i] = has_foreign
        loss = s.input_loss[f]  # a collaborator's contribution is lost with the inputs
        boost = 1.0 + c.paper_boost * (1.0 - loss) if has_foreign else 1.0
        effort = s.time_productivity[i] * boost * c.dt
        capacity = effort * c.papers_per_year
        share = s.exploratory_share[i] if active else 0.0
        inputs = 1.0 - c.paper_dependence * loss
        expected = (1.0 - share) * capacity * inputs * c.split
        whole = np.floor(expected)
        n_papers = whole + (1.0 if _uniform(words, PAPERS, i) < expected - whole else 0.0)
        if _uniform(words, BREAKTHROUGH, i) < n_papers * s.breakthrough_chance[i]:
            out.breakthroughs_by_field[f] += 1
        recognized = n_papers * (s.ability[i] / c.split)
        out.recognized_impact[i] = recognized
        out.total_impact[i] += recognized
        progress = s.project_progress[i] + share * effort
        s.project_progress[i] = progress
        if active and progress >= s.project_effort[i]:  # the project ends
            boost = 1.0 + c.success_boost * (1.0 - loss) if has_foreign else 1.0
            chance = min(1.0, c.project_success * boost * (1.0 - c.success_dependence * loss))
            success = _uniform(words, SUCCESS, i) < chance
            n_papers += (c.project_papers if success else c.project_papers / 2) * c.split
            active = False
            out.done[n_done], out.succeeded[n_done] = i, success
            n_done += 1
        if not active and s.exploratory_share[i] > 0:  # has a proposal, judged at a round
            if s.approval_round:
                n_judged += 1
                reshaped = s.proposal_reshaped[i]
                refusal = s.refusal_chance_aligned[i] if reshaped else s.refusal_chance[i]
                if _uniform(words, APPROVAL, i) >= refusal:
                    active = True
                    s.project_reshaped[i] = reshaped
                    s.proposal_reshaped[i] = False
                    out.start[n_start] = i
                    n_start += 1
                else:  # reshaped toward a priority, or dropped for a new one
                    s.proposal_reshaped[i] = _uniform(words, RESHAPE, i) < c.reshape_chance
            if not active:
                n_waiting += 1
        s.project_active[i] = active
        credited = n_papers
        if c.failure_tolerance > 0:
            credited = n_papers + c.failure_tolerance * (capacity * share * inputs * c.split)
        out.credited_papers[i] = credited
        out.total_papers[i] += n_papers
        papers_made += n_papers
    return StepCounts(papers_made, n_done, n_start, n_judged, n_waiting)


@held
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


@held
@njit(cache=True)
def search_sorted_targets(cumulative, targets, out):
    """`np.searchsorted(cumulative, targets, side="right")` for ascending targets, written to
    `out`: one merge-like walk of both arrays instead of a binary search per target."""
    j = 0
    for k in range(targets.size):
        while j < cumulative.size and cumulative[j] <= targets[k]:
            j += 1
        out[k] = j


@held
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
