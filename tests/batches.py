"""A batch of replicates run as a sweep job runs them (`replicates.run_replicate` through the
one runner), for the tests of checkpoints and resume."""

from experiments.engine import replicates
from experiments.engine.runner import run_tasks


def run_batch(params, seeds, workers, checkpoint, done):
    tasks = {i: (params, i, seed) for i, seed in enumerate(seeds)}
    return run_tasks(replicates.run_replicate, tasks, workers, done=done, checkpoint=checkpoint)
