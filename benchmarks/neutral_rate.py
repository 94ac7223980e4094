"""The calibration figure: breakthroughs per 1,000 researcher-years at neutral levers.

Neutral levers (docs/ODD.md, section 7): an evaluation on recognized impact only, no failure
tolerance, no export-control shock, no merged leaderships, no oversight and no favoritism;
1,000 researchers over the default 20 years, seeds 0-29. Prints the mean with its 95% CI
(Student t over seeds) and papers per researcher-year. A change of the model's random draws must
leave this figure unchanged within its CI: `python -m benchmarks.neutral_rate`.
"""

import numpy as np
from scipy import stats

from sim import ResearchModel

NEUTRAL = {
    "publication_weight": 0.0,
    "failure_tolerance": 0.0,
    "merged_share": 0.0,
    "oversight.intensity": 0.0,
    "guanxi.weight": 0.0,
    "export_controls.enabled": False,
}


def main(seeds: range = range(30)) -> None:
    runs = [ResearchModel(seed=s, n_researchers=1000, **NEUTRAL).run().run_metrics() for s in seeds]
    rates = np.array([m["breakthrough_rate"] for m in runs])
    half = stats.t.ppf(0.975, rates.size - 1) * rates.std(ddof=1) / np.sqrt(rates.size)
    papers = np.mean([m["papers_per_researcher_year"] for m in runs])
    print(
        f"breakthrough rate at neutral levers: {rates.mean():.2f} per 1,000 researcher-years "
        f"(95% CI {rates.mean() - half:.2f} to {rates.mean() + half:.2f}, {rates.size} seeds); "
        f"papers per researcher-year {papers:.3f}"
    )


if __name__ == "__main__":
    main()
