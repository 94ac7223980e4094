"""Speed against the per-agent reference: the same rules as idiomatic Mesa code.

`sim.reference.ReferenceModel` steps each researcher in Python (see its docstring); this runs it
and `ResearchModel` on the same population and run length and compares their time per
researcher-step. Target (issue 5): at 10,000 researchers, at least 50 times faster. The
reference runs only a year or two, which is enough for a per-step figure and includes
evaluations. Building the models is not timed.
"""

import sys

from sim import ResearchModel
from sim.reference import ReferenceModel

from .common import Row, best_time, print_table

TARGET_RATIO = 50.0


def rows(quick: bool = False) -> list[Row]:
    n, years = 10_000, (1 if quick else 2)
    steps = ResearchModel(seed=1, n_researchers=100, years=years).total_steps
    best = {ReferenceModel: float("inf"), ResearchModel: float("inf")}
    for _ in range(2):  # taking turns, so that a burst of load elsewhere hits both alike
        for model_class in best:
            model = model_class(seed=1, n_researchers=n, years=years)
            best[model_class] = min(best[model_class], best_time(model.run, 1))
    reference, vectorized = (best[c] / (n * steps) * 1e9 for c in (ReferenceModel, ResearchModel))
    ratio = reference / vectorized
    return [
        Row(
            f"per-agent reference (idiomatic Mesa), {n:,} researchers, {years} year(s)",
            f"{reference:,.0f} ns per researcher-step",
        ),
        Row(
            f"vectorized, same population and run length ({n:,} researchers, {years} year(s))",
            f"{vectorized:.0f} ns per researcher-step",
        ),
        Row("speed-up over the reference", f"{ratio:.0f}x", f">= {TARGET_RATIO:.0f}x", ratio >= 50),
    ]


if __name__ == "__main__":
    print_table(rows("--quick" in sys.argv))
