"""Random streams: one seed per model, one independent stream per mechanism.

Each mechanism draws from its own `numpy.random.Generator`, spawned from the model's seed with
`SeedSequence.spawn`, and always draws arrays of the same shape whatever the levers are. Two runs
with the same seed and different levers therefore see the same random numbers in every mechanism
(common random numbers), so their difference is the policy, not noise (as in Starsim).

The frequent draws (production every step, careers at each evaluation) take raw 64-bit words
from the stream's bit generator and split each word into two uniforms of 32 bits: half the
random-number work of `Generator.random`, with a resolution (2^-32) far below any chance in the
model. Each 32-bit half k becomes (k + 1/2) / 2^32, strictly inside (0, 1), so logarithms and
inverse normal CDFs of a uniform are always finite. Normal noise that only a few researchers
need (newcomers, imitators) is the inverse normal CDF of such a uniform, taken for those few.
"""

import numpy as np

MECHANISMS = ("population", "leadership", "collaboration", "production", "careers")
HALF_WORD = np.uint64(32)
LOW_HALF = np.uint64(0xFFFFFFFF)
UNIT = 2.0**-32


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


def words(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """`rows` x `n` raw 64-bit words from the generator: two uniforms each (`uniform`)."""
    return rng.bit_generator.random_raw(rows * n).reshape(rows, n)


def uniform(words: np.ndarray, which: int, idx=slice(None)) -> np.ndarray:
    """Uniform number `which` of each researcher in `idx`, in (0, 1): word `which // 2`,
    its high half for even `which` and its low half for odd, k giving (k + 1/2) / 2^32."""
    word = words[which // 2, idx]
    half = word >> HALF_WORD if which % 2 == 0 else word & LOW_HALF
    return (half + 0.5) * UNIT
