"""The command `python -m experiments.identifiability`: its name only.

The code is experiments/studies/calibration/identifiability.py.
"""

from .studies.calibration.identifiability import main

if __name__ == "__main__":
    raise SystemExit(main())
