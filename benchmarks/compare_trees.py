"""Speed of two versions of the model, measured in turns: `python -m benchmarks.compare_trees
OLD_DIR NEW_DIR [--sizes 2000 100000] [--repeats 5]`, each DIR holding a `sim/` package (for
example from `git archive COMMIT sim | tar -x -C DIR`).

Each measurement is a fresh process importing `sim` from one DIR and timing the CPU seconds of
`ResearchModel(seed=1, n_researchers=N, years=Y).run()` (construction excluded, after one warm
run that compiles the kernels); the two versions take turns, so load elsewhere on the machine
hits both alike, and the best of the repeats is kept. Prints ns per researcher-step and the
ratio new / old.
"""

import argparse
import subprocess
import sys

PROBE = """
import time
from sim import ResearchModel
n, years = {n}, {years}
ResearchModel(seed=0, n_researchers=min(n, 2000), years=1).run()
model = ResearchModel(seed=1, n_researchers=n, years=years)
started = time.process_time()
model.run()
print((time.process_time() - started) / (n * model.total_steps) * 1e9)
"""


def measure(tree: str, n: int, years: float) -> float:
    code = PROBE.format(n=n, years=years)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": tree, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 100_000])
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for n in args.sizes:
        best = {"old": float("inf"), "new": float("inf")}
        for _ in range(args.repeats):
            for name in ("old", "new"):
                best[name] = min(best[name], measure(getattr(args, name), n, args.years))
        ratio = best["new"] / best["old"]
        print(
            f"{n:,} researchers, {args.years:g} years: old {best['old']:.1f} ns, "
            f"new {best['new']:.1f} ns per researcher-step; new / old {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
