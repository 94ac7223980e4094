"""Every config group, preset, scenario and experiment composes and validates (Compose API)."""

import dataclasses
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from experiments.engine import preflight, schema
from sim import Params
from sim.schema import GROUPS

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MODEL_GROUPS = ["population", "incentives", "oversight", "export_controls", "guanxi", "leadership"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


@pytest.fixture(scope="module", autouse=True)
def hydra_configs():
    schema.register()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        yield


def composed(*overrides: str):
    cfg = compose("config", overrides=list(overrides))
    return cfg, *schema.to_params(cfg)


def test_schema_is_the_model_schema_plus_batch_settings():
    extended = [*schema.field_names(Params), "uncertainty", "report"]  # a design, report words
    assert schema.field_names(schema.ExperimentConfig) == extended
    for group in GROUPS:
        expected = type(getattr(Params(), group))
        assert issubclass(schema.group_class(group), expected)
    extra = set(schema.field_names(schema.RunConfig)) - set(schema.field_names(type(Params().run)))
    assert extra == {"replicates", "seed", "workers", "resume", "checkpoint_seconds"}


def test_default_composition_is_the_model_default():
    cfg, params, run = composed()
    assert params == Params()
    assert run.replicates >= 1 and run.workers == 1 and run.resume is True


@pytest.mark.parametrize("group", [*MODEL_GROUPS, "run"])
def test_every_preset_composes_and_validates(group):
    names = options(group)
    assert "default" in names and len(names) >= (2 if group == "run" else 3)
    for name in names:
        cfg, params, run = composed(f"{group}={name}")
        preset = OmegaConf.load(CONFIGS / group / f"{name}.yaml") or {}
        for key, value in preset.items():
            assert OmegaConf.select(cfg, f"{group}.{key}") == value, (group, name, key)


def test_named_presets_say_what_their_names_say():
    _, count_heavy, _ = composed("incentives=count_heavy")
    _, hhmi, _ = composed("incentives=hhmi_like")
    assert hhmi.incentives.publication_weight < 0.5 < count_heavy.incentives.publication_weight
    assert hhmi.incentives.evaluation_window_years >= 5
    assert hhmi.incentives.failure_tolerance >= 0.5 > count_heavy.incentives.failure_tolerance
    intensities = [composed(f"oversight={n}")[1].oversight.intensity for n in OVERSIGHT]
    assert intensities == sorted(intensities) and intensities[0] == 0.0
    shares = [composed(f"leadership={n}")[1].leadership.technocrat_share for n in LEADERSHIP]
    assert shares == sorted(shares)
    weights = [composed(f"guanxi={n}")[1].guanxi.weight for n in ("none", "moderate", "strong")]
    assert weights == sorted(weights) and weights[0] == 0.0
    assert composed("export_controls=october_2022")[1].export_controls.enabled
    assert not composed("export_controls=none")[1].export_controls.enabled
    sizes = [composed(f"population={n}")[1].population.n_researchers for n in POPULATION]
    assert sizes == sorted(sizes)


OVERSIGHT = ("none", "moderate", "strict")
LEADERSHIP = ("political", "mixed", "technocratic")
POPULATION = ("small", "default", "large")


def test_no_scenario_has_no_events():
    assert composed("scenario=none")[1].timeline == []


def test_seed_timeline_holds_the_dated_facts_of_the_seeds():
    _, params, _ = composed("scenario=seed_timeline")
    events = {(e.year, e.key): e.value for e in params.timeline}
    technocrats = {y: v for (y, k), v in events.items() if k == "leadership.technocrat_share"}
    assert {int(y): v for y, v in technocrats.items()} == {
        1997: 0.70,
        2007: 0.313,
        2017: 0.176,
        2022: 0.40,
    }
    assert events[2022.75, "export_controls.enabled"] is True
    assert events[2022.75, "export_controls.start_year"] == 2022.75
    assert events[2020.25, "incentives.publication_weight"] < Params().incentives.publication_weight
    assert events[2023.25, "oversight.intensity"] > Params().oversight.intensity
    assert events[2024.0, "leadership.merged_share"] > Params().leadership.merged_share


def test_every_event_of_the_seed_timeline_names_its_source():
    lines = (CONFIGS / "scenario" / "seed_timeline.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("- {year:"):
            before = i - 1
            while lines[before].strip().startswith("- {year:"):
                before -= 1  # events of the same date share their comment
            assert lines[before].strip().startswith("#"), f"event without a source: {line}"


@pytest.mark.parametrize("name", options("experiment"))
def test_every_experiment_composes_and_every_job_validates(name):
    cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
    assert cfg.hydra.sweep.dir == f"multirun/{name}"  # fixed, so rerunning resumes
    params = cfg.hydra.sweeper.params
    assert params, "an experiment sweeps something"
    jobs = preflight.plan([f"experiment={name}"], multirun=True)
    expected = 1
    for values in params.values():
        text = str(values)
        if text.startswith("range("):  # an uncertainty design's jobs: range(0,N)
            expected *= len(range(*map(int, text[6:-1].split(","))))
        else:
            expected *= len(text.split(","))
    assert len(jobs) == expected
    assert len({job.config_hash for job in jobs}) == len(jobs)


def test_required_experiments_sweep_the_levers_they_are_named_for():
    def swept(name):
        cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
        return set(cfg.hydra.sweeper.params)

    assert swept("incentives_oversight") == {
        "incentives.publication_weight",
        "oversight.intensity",
    }
    assert swept("evaluation_window") == {
        "incentives.evaluation_window_years",
        "incentives.failure_tolerance",
    }
    assert swept("export_shock") == {
        "export_controls.enabled",
        "export_controls.self_reliance_funding",
    }
    assert swept("guanxi_technocrats") == {"guanxi.weight", "leadership.technocrat_share"}
    assert swept("headline") == {"incentives.publication_weight", "oversight.intensity"}
    assert swept("technocrat_channels") == {
        "leadership.technocrat_share",
        "leadership.approval_differs",
        "leadership.favoritism_differs",
        "leadership.funding_differs",
    }


def test_export_shock_compares_no_self_reliance_with_some():
    cfg = compose("config", overrides=["experiment=export_shock"], return_hydra_config=True)
    values = [
        float(v)
        for v in str(cfg.hydra.sweeper.params["export_controls.self_reliance_funding"]).split(",")
    ]
    assert 0.0 in values and max(values) > 0


def test_launcher_configs_compose():
    cfg = compose("config", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.cpus_per_task == cfg.run.workers
    for launcher in ("joblib", "submitit_local", "basic"):
        compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)


def test_ray_cluster_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")
    cfg = compose("config", overrides=["hydra/launcher=ray_cluster"], return_hydra_config=True)
    assert cfg.hydra.launcher.ray.init.address == "auto"
    assert cfg.hydra.launcher.ray.remote.num_cpus == cfg.run.workers


def test_run_config_fields_carry_ranges_like_the_model_parameters():
    for f in dataclasses.fields(schema.RunConfig):
        assert "lo" in f.metadata and "doc" in f.metadata


def test_every_run_setting_of_the_model_reaches_it():
    _, params, _ = composed("run.burn_in_years=2", "run.years=3", "run.start_year=2016")
    assert (params.run.burn_in_years, params.run.years, params.run.start_year) == (2, 3, 2016)
