"""The command `python -m experiments.aggregate`: its name only.

The code is experiments/studies/sweep/aggregate.py.
"""

from .studies.sweep.aggregate import main

if __name__ == "__main__":
    raise SystemExit(main())
