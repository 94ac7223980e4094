"""Every use of Hydra's private API in the project, in one place.

Hydra 1.3 offers no public way to do five things the experiments layer needs, so they are done
here and nowhere else; `tests/test_hydra_compat.py` exercises each one and fails with a message
naming the installed Hydra version when an upgrade breaks it:

- `split_sweep`: expand sweep overrides into the jobs' override lists exactly as Hydra's basic
  sweeper does (`BasicSweeper.split_arguments`), so that the preflight check and the aggregator
  list the same jobs, in the same order, as the sweep runs;
- `sweep_values`: a `shuffle(...)` sweep's values in their given order (`Override._value`), to
  which the preflight check gives an order of its own that is the same on every run;
- `apply_overrides`: apply parsed overrides to a composed config with Hydra's own code
  (`ConfigLoaderImpl._apply_overrides_to_config`), which checks keys and converts values;
- `group_exists`: whether a name is a config group (`ConfigRepository.group_exists`);
- `single_composition`: stop the basic sweeper composing every job a second time before
  launching it (`BasicSweeper.validate_batch_is_legal`). The preflight check has just composed
  and checked the same jobs, so that pass is spent twice: about 70 ms per job, a sixth of a
  10-replicate job's time. A sweeper subclass selected by config would be the supported way,
  but Hydra 1.3 instantiates a sweeper only from the `hydra_plugins` namespace package
  (`Plugins._instantiate` refuses any other module, even for a class registered with
  `Plugins.register`), which this project does not ship. So the method is replaced on the basic
  sweeper only (the class Hydra's plugin registry will instantiate), only while one command
  runs, and restored afterwards;
- `checked_config_files`: check each config file before Hydra loads it (its file config source's
  `load_config`, the class its `SourcesRegistry` holds), so that a file that is not UTF-8 is
  named and a YAML alias bomb is refused before OmegaConf expands it. Hydra offers no hook
  between finding a config file and loading it.
"""

import contextlib
import copy
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence

import hydra
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.sources_registry import SourcesRegistry
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.types import Override
from hydra.core.plugins import Plugins
from omegaconf import DictConfig

HYDRA_VERSION = hydra.__version__


def split_sweep(overrides: Sequence[Override]) -> list[list[str]]:
    """Each job's override lines, in the order Hydra's basic sweeper numbers the jobs."""
    return [list(job) for job in BasicSweeper.split_arguments(list(overrides), None)[0]]


def sweep_values(override: Override) -> list[str]:
    """The values of a sweep override as override text, in the order given (unshuffled)."""
    unshuffled = copy.copy(override)
    unshuffled._value = dataclasses.replace(override.value(), shuffle=False)
    return list(unshuffled.sweep_string_iterator())


def apply_overrides(overrides: Sequence[Override], cfg: DictConfig) -> None:
    """Apply value overrides to `cfg` in place, with Hydra's checks and type conversion."""
    ConfigLoaderImpl._apply_overrides_to_config(list(overrides), cfg)


def group_exists(name: str) -> bool:
    """Whether `name` is a config group of the initialized Hydra (inside `initialize_*`)."""
    loader = GlobalHydra.instance().config_loader()
    return loader.repository.group_exists(name)  # type: ignore[attr-defined]


BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def basic_sweeper_class() -> type:
    """The basic sweeper class that Hydra will instantiate.

    Not simply the imported `BasicSweeper`: Hydra's plugin scan (on its first start in a
    process) executes the plugin modules again, which makes a new class object, and Hydra
    instantiates the one its registry holds.
    """
    return Plugins.instance().class_name_to_class[BASIC_SWEEPER]


@contextlib.contextmanager
def single_composition() -> Iterator[None]:
    """Meanwhile, the basic sweeper launches jobs without composing each one beforehand."""
    sweeper = basic_sweeper_class()
    original = sweeper.__dict__.get("validate_batch_is_legal")
    sweeper.validate_batch_is_legal = _already_checked
    try:
        yield
    finally:
        if original is None:
            del sweeper.validate_batch_is_legal
        else:
            sweeper.validate_batch_is_legal = original


def _already_checked(self, batch) -> None:
    """The preflight check composed and checked every job of the batch already."""


@contextlib.contextmanager
def checked_config_files(check: Callable[[str], None]) -> Iterator[None]:
    """Meanwhile, Hydra calls `check(path)` on each config file it loads from a folder, first."""
    Plugins.instance()  # registers the config sources
    source = SourcesRegistry.instance().resolve("file")
    original = source.__dict__["load_config"]

    def load_config(self, config_path: str):
        path = os.path.realpath(os.path.join(self.path, self._normalize_file_name(config_path)))
        if os.path.isfile(path):
            check(path)
        return original(self, config_path)

    source.load_config = load_config
    try:
        yield
    finally:
        source.load_config = original
