"""The command `python -m experiments.report`: its name only.

The code is experiments/studies/sweep/report.py.
"""

from .studies.sweep.report import main

if __name__ == "__main__":
    raise SystemExit(main())
