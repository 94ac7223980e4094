"""The command `python -m experiments.calibrate`: its name only.

The code is experiments/studies/calibration/calibrate.py.
"""

from .studies.calibration.calibrate import main

if __name__ == "__main__":
    raise SystemExit(main())
