"""A whole command-line job against a trivial per-agent Mesa step, measured in the same run.

`python -m benchmarks.job_guard [--researchers 50000] [--years 10] [--replicates 2]` times one
job of `python -m experiments.run` end to end (wall-clock: start-up, burn-in, run, outputs) and
divides by the recorded researcher-steps; then times a Mesa model of as many agents whose step
adds one to a counter in each agent (`agents.do`), per agent-step. The guard (issue 22): the
job at most a tenth of the trivial step. Both on this machine, one after the other.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa

from sim.mechanism import steps_for


class Counter(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.count = 0

    def step(self):
        self.count += 1


class Trivial(mesa.Model):
    def __init__(self, n: int):
        super().__init__(rng=0)
        Counter.create_agents(self, n)

    def step(self):
        self.agents.do("step")


def job_ns(researchers: int, years: float, replicates: int) -> tuple[float, float]:
    """(ns per recorded researcher-step, seconds) of one job, start-up included."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable,
            "-m",
            "experiments.run",
            f"population.n_researchers={researchers}",
            f"run.years={years}",
            f"run.replicates={replicates}",
            f"hydra.run.dir={Path(scratch) / 'job'}",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the job failed ({done.returncode}): {done.stderr[-2000:]}")
        seconds = time.perf_counter() - started
    return seconds / (researchers * steps_for(years) * replicates) * 1e9, seconds


def trivial_ns(agents: int, steps: int = 5) -> float:
    model = Trivial(agents)
    started = time.perf_counter()
    for _ in range(steps):
        model.step()
    return (time.perf_counter() - started) / (agents * steps) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--researchers", type=int, default=50_000)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--replicates", type=int, default=2)
    args = parser.parse_args()
    job, seconds = job_ns(args.researchers, args.years, args.replicates)
    mesa_step = trivial_ns(args.researchers)
    print(
        f"job ({args.researchers:,} researchers x {args.years:g} years x {args.replicates} "
        f"replicates): {seconds:.1f} s, {job:,.0f} ns per recorded researcher-step; trivial "
        f"Mesa step: {mesa_step:,.0f} ns per agent-step; job / trivial {job / mesa_step:.2f} "
        f"(target <= 0.10: {'met' if job <= mesa_step / 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
