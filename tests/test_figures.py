"""Every figure renders from real model output: PNG and SVG, non-empty, stating n and the CI."""

import itertools

import pandas as pd
import pytest

from experiments import figures, stats
from sim import ResearchModel

SEEDS = range(4)


def small_sweep(levers: dict, years: float = 6.0, start_year: float = 2019.0):
    """Replicates and timeseries of a real grid over `levers`, same seeds in every arm."""
    replicates, series = [], []
    for job, values in enumerate(itertools.product(*levers.values())):
        setting = dict(zip(levers, values, strict=True))
        for seed in SEEDS:
            options = {"run.start_year": start_year, "run.years": years, **setting}
            model = ResearchModel(seed=seed, n_researchers=200, **options).run()
            replicates.append({"job": job, "seed": seed, **setting, **model.run_metrics()})
            steps = model.timeseries().assign(job=job, seed=seed, **setting)
            series.append(steps)
    return pd.DataFrame(replicates), pd.concat(series, ignore_index=True)


@pytest.fixture(scope="module")
def grid():
    return small_sweep({"incentives.publication_weight": [0.2, 0.9], "oversight.intensity": [0, 1]})


@pytest.fixture(scope="module")
def shock():
    return small_sweep(
        {"export_controls.enabled": [False, True], "export_controls.self_reliance_funding": [0, 1]}
    )


def assert_rendered(paths, name, *phrases):
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.svg"]
    png, svg = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for phrase in ("n = 4", "95% bootstrap CI", *phrases):
        assert phrase in text, phrase
    assert not list(png.parent.glob(".*.tmp")), "a temporary file was left behind"


def test_heatmap(grid, tmp_path):
    replicates, _ = grid
    paths = figures.heatmap(
        replicates, "incentives.publication_weight", "oversight.intensity", tmp_path
    )
    assert_rendered(paths, "heatmap", "publication-count weight", "oversight intensity")


def test_heatmap_refuses_to_pool_arms_silently(grid, tmp_path):
    replicates, _ = grid  # oversight varies too, so each weight has two arms per seed
    with pytest.raises(ValueError, match="another lever varies"):
        figures.heatmap(replicates, "incentives.publication_weight", "years", tmp_path)


def test_line_with_band(grid, tmp_path):
    replicates, _ = grid
    paths = figures.lever_line(
        replicates, "incentives.publication_weight", tmp_path, hue="oversight.intensity"
    )
    assert_rendered(paths, "line", "researcher-years", "oversight intensity 1")


def test_exploratory_share_over_time(grid, tmp_path):
    _, series = grid
    regimes = series[series["oversight.intensity"] == 0]
    paths = figures.arms_over_time(regimes, ["incentives.publication_weight"], tmp_path)
    assert_rendered(paths, "exploratory_share_over_time", "count weight 0.9", "calendar year")


def test_export_shock_figure(shock, tmp_path):
    _, series = shock
    paths = figures.export_shock(
        series, tmp_path, 2022.75, ["export_controls.self_reliance_funding"]
    )
    # Without the shock self-reliance funding does nothing, so the two no-shock arms are one line.
    assert_rendered(paths, "export_shock", "no shock", "shock, self-reliance 1", "paired on seeds")
    assert "no shock, self-reliance" not in paths[1].read_text()


def test_papers_vs_breakthroughs(grid, tmp_path):
    replicates, _ = grid
    levers = ["incentives.publication_weight", "oversight.intensity"]
    paths = figures.papers_vs_breakthroughs(replicates, levers, tmp_path)
    assert_rendered(paths, "papers_vs_breakthroughs", "Papers per researcher-year")


def test_contrast_intervals(grid, tmp_path):
    replicates, _ = grid
    levers = ["incentives.publication_weight", "oversight.intensity"]
    table = stats.contrasts(replicates, levers, ["breakthrough_rate"], reference=(0.2, 0))
    paths = figures.contrast_intervals(table, levers, "count weight 0.2, oversight 0", tmp_path)
    assert_rendered(paths, "contrasts", "unpaired", "count weight 0.9, oversight 1")


def test_labels_and_colours():
    assert figures.arm_label(["export_controls.enabled"], [True]) == "shock on"
    assert figures.n_phrase([20, 18, 20]) == "n = 18-20"
    assert len(set(figures.OKABE_ITO)) == 8
