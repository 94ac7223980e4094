"""The command `python -m experiments.run`: its name only.

The code is experiments/studies/sweep/run.py.
"""

from .studies.sweep.run import main

if __name__ == "__main__":
    raise SystemExit(main())
