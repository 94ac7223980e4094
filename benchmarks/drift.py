"""Does the baseline drift? Mean ability and breakthrough rate per 5-year period of a run.

At the defaults (the status quo, which the burn-in also runs), 2,000 researchers, over 10
seeds: the figures per period with the default burn-in, and with none. A steady state shows as
flat rows; the cold start and the selection drift show as a trend.

    python -m benchmarks.drift
"""

import numpy as np

from sim import ResearchModel

SEEDS, YEARS, PERIOD = range(10), 20, 5


def per_period(burn_in_years: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean ability at each period's end, breakthroughs per 1,000 researcher-years) x seeds."""
    steps = PERIOD * 4
    ability, rate = [], []
    for seed in SEEDS:
        model = ResearchModel(seed=seed, years=YEARS, burn_in_years=burn_in_years)
        ends = []
        while model.running:
            model.step()
            if model.steps % steps == 0:
                ends.append(model.researchers.ability.mean())
        counts = np.add.reduceat(model.history["breakthroughs"], np.arange(0, YEARS * 4, steps))
        ability.append(ends)
        rate.append(1000 * counts / (model.n * PERIOD))
    return np.array(ability), np.array(rate)


if __name__ == "__main__":
    for burn_in in (ResearchModel(seed=0).p.run.burn_in_years, 0.0):
        ability, rate = per_period(burn_in)
        print(f"burn-in {burn_in:g} years, {len(SEEDS)} seeds, mean (s.d. over seeds):")
        print("  period      mean ability at end   breakthroughs per 1,000 researcher-years")
        for k in range(ability.shape[1]):
            years = f"{k * PERIOD}-{(k + 1) * PERIOD}"
            print(
                f"  {years:10s}  {ability[:, k].mean():.3f} ({ability[:, k].std():.3f})"
                f"         {rate[:, k].mean():.1f} ({rate[:, k].std():.1f})"
            )
