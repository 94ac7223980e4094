"""Hydra's overhead per job, and a 16-job sweep's replicate throughput against a bare loop.

    python -m benchmarks.hydra_overhead [--repeats 3] [--replicates 10] [--quick]

Three commands, each a fresh process timed from the outside (wall-clock and the child's CPU
time, which a busy shared machine disturbs less), best of `--repeats` taken in turns:
- the bare loop: one Python process running the sweep's 160 replicates (16 arms x 10 replicates
  of 2,000 researchers over 20 years) one after another: build, run, run metrics, timeseries;
- the sweep: `python -m experiments.run -m` over the same 16 arms (4 publication weights x 4
  oversight intensities), basic launcher, into a new folder each time;
- an empty sweep: the same 16 jobs with one replicate of 10 researchers over one quarter, whose
  time is interpreter start-up plus Hydra and job overhead alone.
Target (issue 3): the sweep's throughput within 1.5 times the bare loop's time.
`benchmarks/run_all.py` calls `measure` and `report` (lines 'what: figure'): keep both.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = (0.0, 0.33, 0.67, 1.0)
INTENSITIES = (0.0, 0.33, 0.67, 1.0)
GRID = [
    f"incentives.publication_weight={','.join(map(str, WEIGHTS))}",
    f"oversight.intensity={','.join(map(str, INTENSITIES))}",
]
JOBS = len(WEIGHTS) * len(INTENSITIES)
TARGET = 1.5

BARE_LOOP = f"""
import sys, time
from experiments.replicates import replicate_seed
from sim import ResearchModel, with_overrides
replicates, researchers, years = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
started = time.perf_counter()
for weight in {WEIGHTS}:
    for intensity in {INTENSITIES}:
        params = with_overrides(publication_weight=weight, intensity=intensity,
                                n_researchers=researchers, years=years)
        for i in range(replicates):
            model = ResearchModel(params=params, seed=replicate_seed(0, i)).run()
            model.run_metrics(), model.timeseries()
print(time.perf_counter() - started)
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall-clock seconds, CPU seconds of the child, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{done.stderr}")
    return seconds, cpu, done.stdout


def sweep_command(folder: Path, replicates: int, researchers: int, years: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        *GRID,
        f"run.replicates={replicates}",
        f"population.n_researchers={researchers}",
        f"population.n_institutions={min(40, researchers)}",
        f"run.years={years}",
        f"hydra.sweep.dir={folder}",
    ]


def job_seconds(folder: Path) -> tuple[float, float]:
    """(seconds inside the jobs, seconds running replicates), summed from the provenance."""
    inside = replicates = 0.0
    for path in folder.glob("*/provenance.json"):
        timing = json.loads(path.read_text())["timing"]
        inside += timing["seconds"]
        replicates += sum(timing["replicate_seconds"])
    return inside, replicates


def measure(repeats: int, replicates: int, researchers: int, years: float) -> dict:
    """Best wall and CPU seconds of each command (keys 'startup', 'bare', 'sweep', 'empty')."""
    best: dict = {}

    def keep(name: str, wall: float, cpu: float) -> bool:
        improved = wall < best.get(name, float("inf"))
        best[name] = min(wall, best.get(name, float("inf")))
        best[f"{name}_cpu"] = min(cpu, best.get(f"{name}_cpu", float("inf")))
        return improved

    bare = [sys.executable, "-c", BARE_LOOP, str(replicates), str(researchers), str(years)]
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(repeats):
            keep("startup", *timed([sys.executable, "-c", "import experiments.run"])[:2])
            wall, cpu, out = timed(bare)
            keep("bare", wall, cpu)
            loop = float(out.strip().splitlines()[-1])
            best["bare_loop"] = min(loop, best.get("bare_loop", float("inf")))
            folder = Path(scratch) / f"sweep-{repeat}"
            if keep("sweep", *timed(sweep_command(folder, replicates, researchers, years))[:2]):
                best["inside_jobs"], best["replicates_in_jobs"] = job_seconds(folder)
            empty = sweep_command(Path(scratch) / f"empty-{repeat}", 1, 10, 0.25)
            keep("empty", *timed(empty)[:2])
    return best


def report(best: dict, replicates: int) -> list[str]:
    n = JOBS * replicates
    ratio, cpu_ratio = best["sweep"] / best["bare"], best["sweep_cpu"] / best["bare_cpu"]
    verdict = "met" if ratio <= TARGET else "NOT met"
    if replicates != 10:
        verdict = "set for 10 replicates per job"
    return [
        f"interpreter start-up and imports: {best['startup']:.2f} s "
        f"({best['startup_cpu']:.2f} s CPU)",
        f"bare loop: {n} replicates in {best['bare_loop']:.2f} s "
        f"({n / best['bare_loop']:.1f}/s); with start-up {best['bare']:.2f} s, "
        f"{best['bare_cpu']:.2f} s CPU",
        f"sweep of {JOBS} jobs x {replicates} replicates: {best['sweep']:.2f} s "
        f"({n / best['sweep']:.1f}/s), {best['sweep_cpu']:.2f} s CPU; inside the jobs "
        f"{best['replicates_in_jobs']:.2f} s running replicates and "
        f"{best['inside_jobs'] - best['replicates_in_jobs']:.2f} s writing outputs",
        f"sweep / bare loop, both from a fresh interpreter: {ratio:.2f}x wall-clock "
        f"(target <= {TARGET}x: {verdict}), {cpu_ratio:.2f}x CPU",
        f"sweep / bare loop, start-up excluded: "
        f"{(best['sweep'] - best['startup']) / best['bare_loop']:.2f}x wall-clock",
        f"overhead per job, empty sweep: {(best['empty'] - best['startup']) / JOBS * 1000:.0f} ms "
        f"wall-clock, {(best['empty_cpu'] - best['startup_cpu']) / JOBS * 1000:.0f} ms CPU "
        f"(the empty sweep took {best['empty']:.2f} s with start-up)",
        f"overhead per job, sweep minus bare loop: "
        f"{(best['sweep'] - best['bare']) / JOBS * 1000:.0f} ms wall-clock, "
        f"{(best['sweep_cpu'] - best['bare_cpu']) / JOBS * 1000:.0f} ms CPU",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hydra_overhead")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    parser.add_argument("--replicates", type=int, default=10, help="per job (default 10)")
    parser.add_argument("--researchers", type=int, default=2000)
    parser.add_argument("--years", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="one repeat, two replicates")
    args = parser.parse_args(argv)
    repeats, replicates = (1, 2) if args.quick else (args.repeats, args.replicates)
    best = measure(repeats, replicates, args.researchers, args.years)
    print("\n".join(report(best, replicates)))


if __name__ == "__main__":
    main()
