"""Running many models: the Hydra app, batches of replicates, resumable sweeps, aggregation.

`python -m experiments.run` runs one job (or a sweep with -m) of the configs in `configs/`;
`python -m experiments.aggregate SWEEP_DIR` joins a sweep's job folders into tidy tables.
The model itself (`sim`) knows nothing of Hydra.

Layers (docs/extending.md, "Adding a study"; checked by tests/test_layers.py): `engine/` runs
models, `analysis/` computes on tables, `present/` words and draws, `studies/` puts them together
for one question each; the modules here are the commands' names.
"""

import sys


def _interrupted(kind, value, traceback, previous=sys.excepthook):
    """A Ctrl-C that no command handles (one while the libraries load): one line, no traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
    else:
        previous(kind, value, traceback)


if sys.argv[:1] == ["-m"]:  # run as a command (`python -m experiments.NAME`), not imported
    sys.excepthook = _interrupted
