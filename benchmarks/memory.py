"""Peak memory per researcher, and memory staying flat over hundreds of models in one process.

Peak: Python's tracemalloc (which numpy reports its arrays to) over building and running one
model. Flat memory: hundreds of small models built and run one after another, some with their
Mesa agent views built (`model.agents`), with traced memory and the process's resident size
compared after the first and the last. Mesa 3.3 counts agent ids in a class-level dict keyed
by model (`mesa.Agent._ids`), which would keep every model alive; the model removes its key once
its views are built. Run this script with each interpreter (Mesa 3.3 and 3.5) to check both.
"""

import gc
import resource
import sys
import tracemalloc

import mesa

from sim import ResearchModel

from .common import Row, print_table


def peak_bytes_per_researcher(n: int, years: float) -> float:
    gc.collect()
    tracemalloc.start()
    ResearchModel(seed=1, n_researchers=n, years=years).run().run_metrics()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / n


def rss_mb() -> float:
    """Resident set size now, in MB (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 1e6
    except OSError:
        scale = 1e6 if sys.platform == "darwin" else 1e3
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def growth_over_models(count: int, n: int = 500, views_every: int = 3) -> dict[str, float]:
    """Traced and resident memory after the first tenth and after all `count` models."""
    tracemalloc.start()
    marks = {}
    for i in range(count):
        model = ResearchModel(seed=i, n_researchers=n, years=1).run()
        model.run_metrics()
        if i % views_every == 0:
            assert len(model.agents) == n
        del model
        if i + 1 in (count // 10, count):
            gc.collect()
            marks[i + 1] = (tracemalloc.get_traced_memory()[0] / 1e6, rss_mb())
    tracemalloc.stop()
    (first, (t0, r0)), (last, (t1, r1)) = sorted(marks.items())
    return {
        "models": count,
        "traced_growth_kb_per_model": (t1 - t0) * 1e3 / (last - first),
        "rss_growth_mb": r1 - r0,
        "mesa_ids_entries": len(getattr(mesa.Agent, "_ids", {})),
    }


def rows(quick: bool = False) -> list[Row]:
    n = 20_000 if quick else 100_000
    peak = peak_bytes_per_researcher(n, 2)
    growth = growth_over_models(60 if quick else 300)
    flat = growth["traced_growth_kb_per_model"] < 1.0 and growth["mesa_ids_entries"] == 0
    return [
        Row(f"peak memory per researcher ({n:,} researchers, 2 years)", f"{peak:.0f} bytes"),
        Row(
            f"memory growth over {growth['models']} models of 500 (a third with agent views), "
            f"Mesa {mesa.__version__}",
            f"{growth['traced_growth_kb_per_model']:.2f} kB traced per model; "
            f"RSS {growth['rss_growth_mb']:+.1f} MB; "
            f"{growth['mesa_ids_entries']} models left in Agent._ids",
            "flat (< 1 kB per model)",
            flat,
        ),
    ]


if __name__ == "__main__":
    print_table(rows("--quick" in sys.argv))
