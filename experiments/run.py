"""`python -m experiments.run [overrides]`: one job (or, with -m, a sweep of jobs) of replicates.

Every job the command would launch is checked first (experiments/preflight.py): an unknown key,
a wrong type, a value out of range or a job folder holding another config's results stops the
command with one line on stderr and exit status 2, before anything runs. Then Hydra composes
`configs/config.yaml` and runs each job (experiments/job.py) with the chosen launcher.

    python -m experiments.run run=quick incentives=hhmi_like
    python -m experiments.run -m experiment=headline hydra/launcher=joblib
"""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from sim import ResearchModel

from . import preflight, schema
from .errors import BadInput
from .job import JobContext, run_job

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"  # absolute: found when imported


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_app(cfg: DictConfig) -> str:
    """Hydra's task function: run one job in the folder Hydra made for it."""
    hc = HydraConfig.get()
    context = JobContext(
        output_dir=hc.runtime.output_dir,
        overrides=list(hc.overrides.task),
        choices=OmegaConf.to_container(hc.runtime.choices),  # type: ignore[arg-type]
        num=hc.job.get("num") if hc.mode.name == "MULTIRUN" else None,
        launcher=hc.launcher.get("_target_"),
    )
    return run_job(cfg, context)


def skip_hydras_second_check() -> None:
    """Do not let Hydra's sweeper compose every job a second time before launching it.

    `Sweeper.validate_batch_is_legal` composes each job only to catch composition errors before
    the launcher composes it again. The preflight check has just composed and checked the same
    jobs (and more: ranges), so that pass is spent twice; it costs a composition (about 70 ms)
    per job, a sixth of a 10-replicate job's time.
    """
    Sweeper.validate_batch_is_legal = lambda self, batch: None  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Check the whole command, then hand it to Hydra."""
    argv = sys.argv[1:] if argv is None else list(argv)
    schema.register()  # the schema of the model's mechanisms as they are now
    try:
        checked = preflight.check(argv)
    except BadInput as err:
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(2) from None
    if checked is not None:  # jobs will run
        skip_hydras_second_check()
        compile_kernels()
    sys.argv = [sys.argv[0], *argv]
    hydra_app()


def compile_kernels() -> None:
    """Compile the model's numba kernels here, once, into numba's cache: a launcher's worker
    processes then load them instead of all compiling and writing the cache at the same time."""
    ResearchModel(seed=0, n_researchers=20, years=1.0).run()


if __name__ == "__main__":
    main()
