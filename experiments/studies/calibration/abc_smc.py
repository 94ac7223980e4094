"""ABC-SMC with pyabc, made reproducible on any number of processes and resumable.

ABC-SMC (Toni et al. 2009; Beaumont et al. 2009) moves a population of parameter sets from the
prior toward the posterior through generations with a falling acceptance threshold epsilon;
each generation proposes by perturbing the last one's particles and weights the accepted ones by
prior over proposal density. The library is pyabc (Klinger, Rickert & Hasenauer 2018;
Schälte et al. 2022); this module adds what a reproducible calibration needs and pyabc's
parallel samplers do not give:

- `OrderedSampler`: pyabc's samplers accept particles in the order their simulations finish,
  so the population depends on the number and speed of the workers. This sampler draws every
  proposal in this process from numpy's global generator, seeded by (root seed, generation),
  runs the model simulations of a batch of proposals in parallel (any ordered runner), then
  replays the same proposals with their results in proposal order and stops at the n-th
  acceptance. The accepted particles are those a single process would accept, one after the
  other, whatever the batch size or the number of workers. The replay relies on the rule that a
  proposal's random draws do not depend on the simulations' results, true for pyabc's proposal
  (transition kernels, prior draws) with a uniform acceptor and a fixed distance;
- `NoisyDistance`: the distance with seed noise and model discrepancy;
- `ResumableQuantileEpsilon`: pyabc's quantile epsilon, which also recomputes the threshold from
  the stored population when a run is loaded to continue (pyabc's own restarts from the
  initial epsilon after `load` when that is a number);
- `proposal_seed`: each simulation's seed from (root seed, generation, proposal, replicate),
  never from the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyabc
from pyabc.sampler import Sampler

from . import calibration

PILOT = -1  # the generation number of the pilot that measures seed noise


def proposal_seed(root: int, generation: int, proposal: int, replicate: int) -> int:
    """A 63-bit model seed from the root seed's SeedSequence child (generation + 1, proposal,
    replicate); generation -1 is the pilot."""
    child = np.random.SeedSequence(root, spawn_key=(generation + 1, proposal, replicate))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def generation_seed(root: int, generation: int) -> int:
    """The 32-bit seed of numpy's global generator for one generation's proposals."""
    child = np.random.SeedSequence(root, spawn_key=(2**31, generation))
    return int(child.generate_state(1, np.uint32)[0])


class NoisyDistance:
    """d = sqrt(mean over targets of miss_i^2 / (tol_i^2 + disc_i^2 + seed_var_i / n)).

    miss_i is the model's seed mean minus the target value for an interval target, and the
    one-sided miss for a direction (`above`: how far below the value, `below`: how far above;
    0 when the direction holds). tol_i is the target's tolerance (the study's uncertainty, a
    stated judgement), disc_i = `discrepancy` x tol_i the model's discrepancy (what the model
    cannot be expected to reproduce, also a judgement), and seed_var_i / n the variance of a
    mean over n seeds, seed_var_i measured once by the pilot. A statistic that is not finite
    gives an infinite distance (never accepted)."""

    def __init__(self, targets, discrepancy: float, seed_var: dict[str, float], replicates: int):
        self.targets = list(targets)
        self.scale = {
            t.id: math.sqrt(
                t.tolerance**2
                + (discrepancy * t.tolerance) ** 2
                + seed_var.get(t.id, 0.0) / replicates
            )
            for t in self.targets
        }

    @staticmethod
    def miss(target: calibration.Target, value: float) -> float:
        if target.kind == "interval":
            return value - target.value
        if target.kind == "above":
            return max(0.0, target.value - value)
        return max(0.0, value - target.value)

    def __call__(self, x: dict, x_0: dict | None = None, *_args) -> float:
        total = 0.0
        for t in self.targets:
            value = float(x[t.id])
            if not math.isfinite(value):
                return math.inf
            total += (self.miss(t, value) / self.scale[t.id]) ** 2
        return math.sqrt(total / len(self.targets))


class ResumableQuantileEpsilon(pyabc.QuantileEpsilon):
    """pyabc's (weighted) quantile epsilon with a number as initial epsilon, which on a run
    continued from its database also takes the quantile of the stored last population."""

    def initialize(self, t, get_weighted_distances, *args, **kwargs):
        if t > 0:
            self._update(t, get_weighted_distances())


class ProposalLog:
    """The model pyabc calls: in the proposing pass it records each proposal's parameters and
    returns NaN statistics; in the replay it returns the statistics the batch measured. A
    proposal is named by its point number (generation + 1) x `stride` + its index."""

    def __init__(self, target_ids: list[str], stride: int):
        self.target_ids, self.stride = target_ids, stride
        self.results: dict[int, dict] = {}
        self.pending: dict[int, dict] = {}
        self.next_point = 0

    def start(self, generation: int, proposal: int) -> None:
        self.next_point = (generation + 1) * self.stride + proposal

    def __call__(self, parameters) -> dict:
        point, self.next_point = self.next_point, self.next_point + 1
        if point in self.results:
            return self.results[point]
        self.pending[point] = dict(parameters)
        return dict.fromkeys(self.target_ids, math.nan) | {"point": point}


class OrderedSampler(Sampler):
    """Sample as a single process would, with the simulations of each batch run in parallel.

    `measure(generation, {point: parameters})` runs the pending proposals' simulations (in any
    order, on any number of processes) and returns {point: statistics}."""

    def __init__(self, log: ProposalLog, measure: Callable, root_seed: int, min_batch: int = 1):
        super().__init__()
        self.log, self.measure, self.root_seed = log, measure, root_seed
        self.min_batch = min_batch  # each batch starts processes: not too many small ones
        self.acceptance_hint = 1.0  # the expected acceptance rate, to size a batch

    def sample_until_n_accepted(
        self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
    ):
        # pyabc's proposals draw from numpy's legacy global generator, so it is the one seeded
        np.random.seed(generation_seed(self.root_seed, t))  # noqa: NPY002
        sample = self._create_empty_sample()
        proposed = 0
        while sample.n_accepted < n and proposed < max_eval:
            state = np.random.get_state()  # noqa: NPY002
            size = self.batch_size(n - sample.n_accepted, max_eval - proposed)
            self.log.start(t, proposed)
            self.log.pending = {}
            for _ in range(size):
                simulate_one()
            self.log.results.update(self.measure(t, self.log.pending))
            np.random.set_state(state)  # noqa: NPY002
            self.log.start(t, proposed)
            for _ in range(size):
                sample.append(simulate_one())
                proposed += 1
                if sample.n_accepted >= n:
                    break
            self.acceptance_hint = max(sample.n_accepted / proposed, 0.02)
        self.nr_evaluations_ = proposed
        sample.ok = sample.n_accepted >= n
        return sample

    def batch_size(self, missing: int, allowed: float) -> int:
        """Enough proposals for the missing acceptances at the expected rate (plus a fifth),
        at least `min_batch`. The size changes how many simulations are wasted (run beyond the
        last acceptance), never which particles are accepted."""
        size = max(math.ceil(1.2 * missing / self.acceptance_hint), self.min_batch)
        return int(max(1, min(size, allowed, 20 * missing + 10)))
