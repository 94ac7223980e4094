"""Nanoseconds per researcher-step against population size and run length; construction time.

A researcher-step is one researcher for one quarter. Each figure is the best of a few runs of
`ResearchModel(seed=1, n_researchers=n, years=y).run()` (construction timed apart).
Targets (issues 2 and 5): at most 100 ns at 50,000 researchers and 60 ns at 100,000; building a
model of 100,000 researchers in under 0.3 s.
"""

from sim import ResearchModel

from .common import Row, best_time, print_table

TARGETS_NS = {50_000: 100.0, 100_000: 60.0}
BUILD_TARGET_S = 0.3


def ns_per_researcher_step(n: int, years: float, repeats: int) -> float:
    """Best run time (construction excluded) over repeats, per researcher-step, in ns."""
    best = float("inf")
    for _ in range(repeats):
        model = ResearchModel(seed=1, n_researchers=n, years=years)
        best = min(best, best_time(model.run, 1))
    return best / (n * model.total_steps) * 1e9


def rows(quick: bool = False) -> list[Row]:
    sizes = (1_000, 10_000, 100_000) if quick else (1_000, 10_000, 50_000, 100_000, 200_000)
    repeats = 2 if quick else 3
    out = []
    for n in sizes:
        ns = ns_per_researcher_step(n, 10, repeats)
        target = TARGETS_NS.get(n)
        out.append(
            Row(
                f"ns per researcher-step, {n:,} researchers, 10 years",
                f"{ns:.0f} ns",
                f"<= {target:.0f} ns" if target else "",
                ns <= target if target else None,
            )
        )
    for years in (2, 40) if not quick else (2,):
        ns = ns_per_researcher_step(10_000, years, repeats)
        out.append(
            Row(f"ns per researcher-step, 10,000 researchers, {years} years", f"{ns:.0f} ns")
        )
    build = best_time(lambda: ResearchModel(seed=1, n_researchers=100_000), 3 if quick else 5)
    out.append(
        Row(
            "build a model of 100,000 researchers",
            f"{build:.3f} s",
            f"< {BUILD_TARGET_S} s",
            build < BUILD_TARGET_S,
        )
    )
    return out


if __name__ == "__main__":
    print_table(rows())
