"""Speed and memory benchmarks of the model; `python -m benchmarks.run_all` prints the table.

Figures come from CPU timings on a possibly shared machine (see common.py): each is the best of
a few repeats, and ratios are measured within one run. Targets live here, never in timed tests.
"""
