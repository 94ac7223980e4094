"""Spin up once, branch every arm.

A model's burn-in runs the status quo, so every arm of a comparison with the same seed, the
same structural parameters and the same code has the same burn-in (`sim.model.spin_up_key`).
`SpinUps` runs each burn-in once per process and starts every arm from a copy of the spun-up
state (`ResearchModel.branch`), as climate models branch their runs from one spin-up. A branch
gives the same numbers, value for value, as a model built from scratch
(tests/test_spinup.py); it only skips repeating the burn-in. Spun-up models are kept in memory,
the most recently used first, up to a budget in bytes, so the arms of a sweep that run in one
process (Hydra's basic launcher, or one joblib worker) share them.
"""

from collections import OrderedDict

from sim import ResearchModel
from sim.model import MECHANISMS, burn_in_steps, spin_up_key

# A spun-up model holds about 400 bytes per researcher (tracemalloc at 2,000 and 20,000
# researchers); counted at 1,000 to leave room for Python's own objects.
BYTES_PER_RESEARCHER = 1_000
# 256 MiB of spun-up models per process: every seed of a sweep up to about 10,000 researchers.
# Larger populations keep fewer, and a sweep whose jobs each run all seeds of one arm then
# rebuilds them (as before spin-ups were shared); its results are the same either way.
DEFAULT_BUDGET = 256 << 20


class SpinUps:
    """Spun-up models by key, least recently used dropped first once over `budget` bytes."""

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = budget
        self.models: OrderedDict[str, ResearchModel] = OrderedDict()
        self.built = self.reused = 0

    def model(self, params, seed: int, status_quo=None) -> ResearchModel:
        """A model ready to run `params` on `seed`, from a shared spin-up where there is one (a
        model without a seed draws its own numbers, and one without a burn-in starts from its
        own levers, so neither shares anything)."""
        if seed is None or burn_in_steps(params) == 0:
            return ResearchModel(params=params, seed=seed, status_quo=status_quo)
        key = spin_up_key(params, seed, MECHANISMS, status_quo)
        base = self.models.get(key)
        if base is None:
            base = ResearchModel.spun_up(params=params, seed=seed, status_quo=status_quo)
            self.built += 1
            self.models[key] = base
            self._keep_within_budget()
        else:
            self.reused += 1
            self.models.move_to_end(key)
        return base.branch(params)

    def _keep_within_budget(self) -> None:
        while len(self.models) > 1 and self._bytes() > self.budget:
            self.models.popitem(last=False)

    def _bytes(self) -> int:
        return sum(m.n for m in self.models.values()) * BYTES_PER_RESEARCHER

    def clear(self) -> None:
        self.models.clear()


SPIN_UPS = SpinUps()  # this process's


def model_for(params, seed: int, status_quo=None) -> ResearchModel:
    """A model ready to run: branched from this process's spin-up for its key (built if new)."""
    return SPIN_UPS.model(params, seed, status_quo)
