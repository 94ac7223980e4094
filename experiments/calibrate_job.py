"""The command `python -m experiments.calibrate_job` (started by `experiments.calibrate`): its
name only.

The code is experiments/studies/calibration/calibrate_job.py.
"""

from .studies.calibration.calibrate_job import command

if __name__ == "__main__":
    command()
