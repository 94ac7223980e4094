"""Running many models: the Hydra app, batches of replicates, resumable sweeps, aggregation.

`python -m experiments.run` runs one job (or a sweep with -m) of the configs in `configs/`;
`python -m experiments.aggregate SWEEP_DIR` joins a sweep's job folders into tidy tables.
The model itself (`sim`) knows nothing of Hydra.

Layers (docs/extending.md, "Adding a study"; checked by tests/test_layers.py): `engine/` runs
models, `analysis/` computes on tables, `present/` words and draws, `studies/` puts them together
for one question each; the modules here are the commands' names.
"""

import importlib.abc
import importlib.util
import sys


def _interrupted(kind, value, traceback, previous=sys.excepthook):
    """A Ctrl-C that no command handles (one while the libraries load): one line, no traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
    else:
        previous(kind, value, traceback)


if sys.argv[:1] == ["-m"]:  # run as a command (`python -m experiments.NAME`), not imported
    sys.excepthook = _interrupted


# The old flat names of the modules that moved into engine/, analysis/ and present/, for the
# calibration modules still at the top level (calibrate, calibrate_job, calibration,
# identifiability): `from .replicates import run_parallel` there gets engine/replicates.py, the
# same module object. Nothing else may use these names (tests/test_layers.py); this table goes
# when those modules move into studies/calibration.
_MOVED = {
    "design": "engine.design",
    "design_job": "engine.design_job",
    "errors": "engine.errors",
    "io": "engine.io",
    "job": "engine.job",
    "lock": "engine.lock",
    "preflight": "engine.preflight",
    "replicates": "engine.replicates",
    "schema": "engine.schema",
    "stats": "analysis.stats",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `experiments.NAME` for a moved NAME: the module at its new place."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{_MOVED[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module):
        pass  # already run at its new place


sys.meta_path.insert(0, _MovedModules())  # before an installed copy's finder
