"""The calibration's budget: projected time of the committed and the quick calibration on 2 cores.

Times one (point, seed) pair of each config's search (the fitting targets' situations) and of its
final measurement (every target's situations), counts the pairs each config runs, and divides
the CPU time by 2 cores (model time only: starting the worker processes adds about 10 s). Also
projects the committed run at 0.15 s per model run (the cost assumed once a burn-in is added).
`python -m benchmarks.calibration`
"""

from experiments.studies.calibration import calibrate, calibration
from sim.params import with_overrides

from .common import Row, best_time, print_table

CORES = 2
ASSUMED_RUN_SECONDS = 0.15  # a run of 2,000 researchers x 20 years with a burn-in
TARGETS = {"default": 45 * 60.0, "quick": 5 * 60.0}  # seconds on 2 cores (the bound: 60 min)


def pair_seconds(base, target_set, targets) -> tuple[float, int]:
    """(CPU seconds of one pair, model runs in it)."""
    runs = len({name for t in targets for name in t.situations})
    seconds = best_time(lambda: calibration.evaluate(base, target_set, targets, 1), repeats=2)
    return seconds, runs


def main() -> None:
    rows = []
    for name, target in TARGETS.items():
        cfg, target_set, _, base = calibrate.check_config(calibrate.read_config(name, []))
        search, search_runs = pair_seconds(base, target_set, target_set.fitting())
        final, final_runs = pair_seconds(base, target_set, target_set.targets)
        # the pilot and max_simulations parameter sets (the generation that crosses the cap
        # finishes, so a run can propose up to a generation more), then the confirmation
        points = cfg.pilot_points + cfg.max_simulations
        pairs = points * cfg.replicates + cfg.confirm_points * cfg.confirm_replicates
        finals = len(calibrate.ARMS) * cfg.validation_replicates
        total = (pairs * search + finals * final) / CORES
        runs = pairs * search_runs + finals * final_runs
        n = with_overrides(base).population.n_researchers
        rows.append(
            Row(
                f"{name}: one model run ({n:,} researchers), with the statistics' snapshots",
                f"{search / search_runs:.3f} s",
            )
        )
        rows.append(
            Row(
                f"{name}: {runs:,} runs ({points} parameter sets x {cfg.replicates} seeds, "
                f"confirmation, {finals} final pairs) on {CORES} cores",
                f"{total:.0f} s",
                f"< {target / 60:.0f} min",
                total < target,
            )
        )
        if name == "default":
            assumed = runs * ASSUMED_RUN_SECONDS / CORES
            rows.append(
                Row(
                    f"default at {ASSUMED_RUN_SECONDS} s per run (after a burn-in)",
                    f"{assumed:.0f} s",
                    f"< {target / 60:.0f} min",
                    assumed < target,
                )
            )
    print_table(rows)


if __name__ == "__main__":
    main()
