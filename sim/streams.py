"""Random streams: one seed per model, one independent stream per mechanism.

Each mechanism draws from its own `numpy.random.Generator`, spawned from the model's seed with
`SeedSequence.spawn`, and always draws arrays of the same shape whatever the levers are. Two runs
with the same seed and different levers therefore see the same random numbers in every mechanism
(common random numbers), so their difference is the policy, not noise (as in Starsim).
"""

import numpy as np

MECHANISMS = ("population", "leadership", "collaboration", "production", "careers")


class Streams:
    """`streams.production` is the production mechanism's generator, and so on."""

    def __init__(self, seed: int | None):
        self.seed_sequence = np.random.SeedSequence(seed)
        children = self.seed_sequence.spawn(len(MECHANISMS))
        for name, child in zip(MECHANISMS, children, strict=True):
            setattr(self, name, np.random.Generator(np.random.PCG64(child)))

    @property
    def entropy(self) -> int:
        """The root entropy: the seed given, or the one drawn when the seed was None."""
        return self.seed_sequence.entropy
