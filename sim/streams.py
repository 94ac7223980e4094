"""Random streams: one seed per model, one independent stream per mechanism, keyed by its name.

Each mechanism draws from its own `numpy.random.Generator`, whose seed sequence is the model's
seed with a spawn key derived from the mechanism's name (`stream_key`), and always draws arrays
of the same shape whatever the levers are. Two runs with the same seed and different levers
therefore see the same random numbers in every mechanism (common random numbers), so their
difference is the policy, not noise (as in Starsim). Because streams are keyed by name, not by
position, adding or removing a mechanism never changes another mechanism's draws.

The frequent draws (production every step, careers at each evaluation) take raw 64-bit words
from the stream's bit generator and split each word into two uniforms of 32 bits: half the
random-number work of `Generator.random`, with a resolution (2^-32) far below any chance in the
model. Each 32-bit half k becomes (k + 1/2) / 2^32, strictly inside (0, 1), so logarithms and
inverse normal CDFs of a uniform are always finite. Normal noise that only a few researchers
need (newcomers, imitators) is the inverse normal CDF of such a uniform, taken for those few.
"""

import hashlib

import numpy as np

HALF_WORD = np.uint64(32)
LOW_HALF = np.uint64(0xFFFFFFFF)
UNIT = 2.0**-32


def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream's name (the same on every machine and Python)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """`streams["production"]` is the production mechanism's generator, made on first use."""

    def __init__(self, seed: int | None):
        self.seed_sequence = np.random.SeedSequence(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._generators:
            child = np.random.SeedSequence(
                self.seed_sequence.entropy, spawn_key=(stream_key(name),)
            )
            self._generators[name] = np.random.Generator(np.random.PCG64(child))
        return self._generators[name]

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
