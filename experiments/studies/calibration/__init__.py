"""Calibration: targets (calibration.py), ABC-SMC (abc_smc.py, calibrate.py), its Hydra job
(calibrate_job.py), what the targets identify (identifiability.py) and the diagnostic of the
count-weight contrast's channels (franzoni.py)."""
