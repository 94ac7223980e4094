"""The command `python -m experiments.sensitivity`: its name only.

The code is experiments/studies/sensitivity/sensitivity.py.
"""

from .studies.sensitivity.sensitivity import main

if __name__ == "__main__":
    raise SystemExit(main())
