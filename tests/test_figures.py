"""Every figure renders from real model output: PNG and SVG, non-empty, stating n and the CI;
and every figure a report draws reads cleanly (legends clear of the data, text inside the image,
labels that say a thing once), checked on matplotlib's own geometry."""

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text

from experiments.analysis import decomposition, stats
from experiments.present import figures, technocrat_channels
from experiments.studies.sweep import report
from sim import ResearchModel

SEEDS = range(4)
RESULTS = Path(__file__).resolve().parent.parent / "results"


def small_sweep(
    levers: dict, years: float = 6.0, start_year: float = 2019.0, seeds=SEEDS, size=200
):
    """Replicates and timeseries of a real grid over `levers`, same seeds in every arm."""
    replicates, series = [], []
    for job, values in enumerate(itertools.product(*levers.values())):
        setting = dict(zip(levers, values, strict=True))
        for seed in seeds:
            options = {"run.start_year": start_year, "run.years": years, **setting}
            model = ResearchModel(seed=seed, n_researchers=size, **options).run()
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
    assert_rendered(paths, "line", "researcher-years", "oversight intensity")


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


# --- layout: what a reader would trip over -----------------------------------------------------


def _drawn_points(artist, steps: int = 25) -> np.ndarray:
    """Display coordinates along a drawn line (its vertices and points between them) or along
    each segment of a line collection (error bars)."""
    if isinstance(artist, Line2D):
        paths = [artist.get_transform().transform(artist.get_xydata())]
        joined = artist.get_linestyle() not in ("None", "", " ")
    else:
        transform = artist.get_transform()
        paths = [transform.transform(np.asarray(s)) for s in artist.get_segments()]
        joined = True
    points = []
    for path in paths:
        path = path[np.isfinite(path).all(axis=1)]
        points.append(path)
        if joined and len(path) > 1:
            t = np.linspace(0, 1, steps)[:, None, None]
            points.append((path[:-1] + t * (path[1:] - path[:-1])).reshape(-1, 2))
    return np.concatenate(points) if points else np.empty((0, 2))


def _shown(text: Text) -> bool:
    return text.get_visible() and bool(text.get_text().strip())


def layout_problems(fig) -> list[str]:
    """Each legend that covers a plotted line, point or error bar; each text that reaches outside
    the figure; each label that repeats its name as its unit ('X (X)'), breaks a word at a
    hyphen or calls yearly means quarterly."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    legends = [
        *fig.legends,
        *(a for ax in fig.axes for a in ax.get_children() if isinstance(a, Legend)),
    ]
    for legend in legends:
        box = legend.get_window_extent(renderer).padded(-1)
        for ax in fig.axes:
            for artist in [
                *ax.lines,
                *(c for c in ax.collections if isinstance(c, LineCollection)),
            ]:
                points = _drawn_points(artist)
                inside = (
                    (points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                    & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
                )  # fmt: skip
                if inside.any():
                    entries = [t.get_text() for t in legend.get_texts()]
                    problems.append(f"legend {entries[:3]} covers a line or point")
                    break
    texts = [t for t in fig.findobj(Text) if _shown(t)]
    ticks = {id(t) for ax in fig.axes for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]}
    bounds = fig.bbox.padded(1)
    for text in texts:
        content = text.get_text()
        if id(text) not in ticks:  # tick labels beyond the view are laid out but never drawn
            extent = text.get_window_extent(renderer)
            if not bounds.contains(extent.x0, extent.y0) or not bounds.contains(
                extent.x1, extent.y1
            ):
                problems.append(f"text outside the figure: {content!r}")
        one_line = " ".join(content.split())
        repeated = re.fullmatch(r"(.+?) \((.+)\)", one_line)
        if repeated and repeated[1].lower() == repeated[2].lower():
            problems.append(f"label repeats its name as its unit: {one_line!r}")
        if any(line.rstrip().endswith("-") for line in content.split("\n")[:-1]):
            problems.append(f"a word broken at its hyphen: {content!r}")
    if any("-year means" in t.get_text() for t in texts) and any(
        "quarterly" in t.get_text() and "means" not in t.get_text() for t in texts
    ):
        problems.append("a quarterly label on a plot of yearly means")
    return problems


@pytest.fixture
def drawn(monkeypatch):
    """Every figure saved while the test runs, checked for layout problems before saving."""
    found = {}
    save = figures.save

    def checked_save(fig, out_dir, name):
        found[name] = layout_problems(fig)
        return save(fig, out_dir, name)

    monkeypatch.setattr(figures, "save", checked_save)
    return found


def report_figures(replicates, series, levers, out: Path, drawn) -> dict:
    """The figures `experiments.report` draws for this sweep, with their layout problems."""
    data = report.SweepData(out, replicates, series, list(levers), {}, [], {})
    report.build_report(data, out)
    assert drawn, "the report drew no figure"
    return drawn


def test_the_layout_check_finds_what_readers_trip_over(tmp_path, drawn):
    """Against the figures as they were: a legend over a line, a name repeated as its unit,
    'researcher-/years' and a title wider than the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [1, 0], label="a line under the legend")
    ax.legend(loc="upper left")
    ax.set_xlabel("Papers per researcher-year (papers per researcher-year)")
    ax.set_ylabel("breakthroughs per 1,000 researcher-\nyears")
    ax.set_title("a title much too long to fit above so narrow a figure, running off both sides")
    problems = " | ".join(layout_problems(fig))
    plt.close(fig)
    for sign in ("covers a line", "repeats its name", "broken at its hyphen", "outside the figure"):
        assert sign in problems, sign


def test_report_figures_of_a_grid_read_cleanly(tmp_path, drawn):
    replicates, series = small_sweep(
        {"incentives.publication_weight": [0.0, 0.5, 1.0], "oversight.intensity": [0, 1]}
    )
    levers = ["incentives.publication_weight", "oversight.intensity"]
    problems = report_figures(replicates, series, levers, tmp_path, drawn)
    assert {"heatmap", "line", "exploratory_share_over_time", "papers_vs_breakthroughs"} <= set(
        problems
    )
    assert {name: p for name, p in problems.items() if p} == {}


def test_report_figures_of_the_shock_read_cleanly(shock, tmp_path, drawn):
    replicates, series = shock
    levers = ["export_controls.enabled", "export_controls.self_reliance_funding"]
    problems = report_figures(replicates, series, levers, tmp_path, drawn)
    assert "export_shock" in problems
    assert {name: p for name, p in problems.items() if p} == {}


def test_report_figures_of_named_arms_read_cleanly(tmp_path, drawn):
    """A preset lever (names, not numbers) gets the rate over time, a quarterly rate shown as
    yearly means."""
    replicates, series = small_sweep({"incentives.failure_tolerance": [0.0, 0.8]})
    names = {0.0: "count_heavy", 0.8: "hhmi_like"}
    for frame in (replicates, series):
        frame["incentives"] = frame.pop("incentives.failure_tolerance").map(names)
    problems = report_figures(replicates, series, ["incentives"], tmp_path, drawn)
    assert "breakthrough_rate_over_time" in problems
    assert {name: p for name, p in problems.items() if p} == {}


def test_report_figures_of_sixteen_arms_read_cleanly(tmp_path, drawn):
    """The technocrat share across the leadership channels: 16 arms with long names."""
    levers = {
        decomposition.SHARE: [0.176, 0.4],
        **{c: [False, True] for c in decomposition.CHANNELS},
    }
    replicates, series = small_sweep(levers, years=3.0, seeds=range(2), size=100)
    problems = report_figures(replicates, series, list(levers), tmp_path, drawn)
    assert {technocrat_channels.FIGURE, "contrasts", "papers_vs_breakthroughs"} <= set(problems)
    assert {name: p for name, p in problems.items() if p} == {}


def committed_contrasts():
    """(experiment, its contrasts.csv) for every committed report."""
    return sorted((p.parent.name, p) for p in RESULTS.glob("*/contrasts.csv"))


@pytest.mark.parametrize(("experiment", "path"), committed_contrasts())
def test_committed_contrast_figures_read_cleanly(experiment, path, tmp_path, drawn):
    """The committed reports' contrast figures, drawn again from their committed contrasts.csv
    (the other figures need each replicate, which results/ does not keep)."""
    table = pd.read_csv(path)
    levers = list(table.columns[: list(table.columns).index("metric")])
    for lever in levers:
        table[lever] = report._as_bool_if_textual(table[lever])
    arms = set(stats.arms(table, levers))
    grid = set(itertools.product(*(sorted(table[lever].unique()) for lever in levers)))
    reference = next(iter(grid - arms), None)
    label = figures.arm_label(levers, reference) if reference else "the reference"
    for metric in sorted(
        set(table["metric"])
        & {"breakthrough_rate", report.AFTER_SHOCK + figures.quarterly_rate("exposed")}
    ):
        figures.contrast_intervals(table, levers, label, tmp_path, metric, name=metric)
    if (path.parent / "decomposition.csv").exists():
        technocrat_channels.figure(pd.read_csv(path.parent / "decomposition.csv"), tmp_path)
    assert drawn and {name: p for name, p in drawn.items() if p} == {}
