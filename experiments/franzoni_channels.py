"""The command `python -m experiments.franzoni_channels`: its name only.

The code is experiments/studies/calibration/franzoni.py.
"""

from .studies.calibration.franzoni import main

if __name__ == "__main__":
    raise SystemExit(main())
