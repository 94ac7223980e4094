"""The command `python -m experiments.headline`: its name only.

The code is experiments/studies/sweep/headline.py.
"""

from .studies.sweep.headline import main

if __name__ == "__main__":
    raise SystemExit(main())
