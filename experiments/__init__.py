"""Running many models: the Hydra app, batches of replicates, resumable sweeps, aggregation.

`python -m experiments.run` runs one job (or a sweep with -m) of the configs in `configs/`;
`python -m experiments.aggregate SWEEP_DIR` joins a sweep's job folders into tidy tables.
The model itself (`sim`) knows nothing of Hydra.
"""
