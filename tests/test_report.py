"""A report is built from a real small sweep (the project's runner), and bad input fails cleanly."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.present.report_document import Document
from experiments.studies.sweep import report

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["run=quick", "run.replicates=4", "population.n_researchers=300"]


def sweep(folder: Path, *overrides: str) -> Path:
    command = [sys.executable, "-m", "experiments.run", "-m", *SMALL, *overrides]
    command.append(f"hydra.sweep.dir={folder}")
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid") / "sweep"
    return sweep(folder, "incentives.publication_weight=0.2,0.9", "oversight.intensity=0,1")


def test_report_from_a_small_sweep(grid_sweep, tmp_path):
    out = tmp_path / "report"
    assert report.main([str(grid_sweep), "--out", str(out), "--title", "Small grid"]) == 0
    text = (out / "report.md").read_text()
    for section in (
        "**Question.**",
        "## Levers varied",
        "## Held fixed",
        "## Results by arm",
        "## Breakthrough rate per period",
        "## Paired contrasts",
        "## Figures",
        "## Provenance",
        "## Missing or failed",
    ):
        assert section in text, section
    assert "None: every job of the sweep completed." in text
    # Every figure the report shows exists, as PNG and SVG.
    shown = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert {Path(p).stem for p in shown} >= {"heatmap", "papers_vs_breakthroughs", "contrasts"}
    for path in shown:
        assert (out / path).stat().st_size > 0 and (out / path).with_suffix(".svg").exists()
    # No path of the machine that built it leaks into what would be committed.
    for name in ("report.md", "report.html", "summary.csv", "contrasts.csv"):
        assert str(tmp_path) not in (out / name).read_text()
    assert not list(out.glob(".*.tmp"))


def test_summary_numbers_match_the_job_files(grid_sweep, tmp_path):
    out = tmp_path / "report"
    report.main([str(grid_sweep), "--out", str(out)])
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["n"]) == {4}
    assert len(summary) == 4 * summary["metric"].nunique()
    # The arm (0.9, 1) is one job folder: its mean must be the mean of that job's replicates.
    checked = False
    for job in grid_sweep.iterdir():
        if not (job / "replicates.csv").exists():
            continue
        raw = pd.read_csv(job / "replicates.csv")
        if (
            raw["incentives.publication_weight"].iloc[0] == 0.9
            and raw["oversight.intensity"].iloc[0] == 1
        ):
            row = summary[
                (summary["incentives.publication_weight"] == 0.9)
                & (summary["oversight.intensity"] == 1)
                & (summary["metric"] == "breakthrough_rate")
            ].iloc[0]
            assert row["mean"] == pytest.approx(raw["breakthrough_rate"].mean())
            assert row["ci_low"] <= row["mean"] <= row["ci_high"]
            text = (out / "report.md").read_text()
            assert report.number(row["mean"]) in text
            checked = True
    assert checked
    contrasts = pd.read_csv(out / "contrasts.csv")
    assert len(contrasts) == 3 * summary["metric"].nunique()  # three arms against the reference
    assert (contrasts["n_pairs"] == 4).all()
    rates = contrasts[contrasts["metric"] == "breakthrough_rate"]
    assert (rates["pairing_gain"] > 0).all() and (rates["ci_low"] <= rates["difference"]).all()


def test_a_missing_job_is_listed_and_left_out(grid_sweep, tmp_path):
    partial = shutil.copytree(grid_sweep, tmp_path / "partial")
    (partial / "3" / "replicates.csv").unlink()
    out = tmp_path / "report"
    assert report.main([str(partial), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "1 job(s) missing or failed" in text and "replicates.csv missing" in text
    assert "3 arms, 12 replicates" in text


def test_export_shock_sweep_gets_the_shock_figure(tmp_path):
    folder = sweep(tmp_path / "shock", "run.start_year=2020", "export_controls.enabled=false,true")
    out = tmp_path / "report"
    assert report.main([str(folder), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "figures/export_shock.png" in text and (out / "figures" / "export_shock.svg").exists()
    assert "**Switching on the export-control shock**" in text
    assert "breakthrough rate, export-exposed fields after the shock date" in text
    # the posterior predictive covers the shock (results/posterior): its note names it
    assert "export-control shock 0 to 1" in text
    # Its results table: the rates after the shock, not a step total beside its whole-run ratio.
    header = next(line for line in text.splitlines() if line.startswith("| export_controls."))
    assert "after the shock date" in header and "impact recognized" not in header


@pytest.mark.parametrize("target", ["no-such-folder", "empty"])
def test_bad_sweep_dir_gives_one_line_and_nonzero_exit(tmp_path, target):
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "experiments.report", str(tmp_path / target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_document_escapes_tables_and_html():
    doc = Document("T <1>")
    doc.table(pd.DataFrame({"a|b": ["x|y"], "c": ["<script>"]}))
    doc.paragraph("**bold** and `code` and [link](figures/a.svg)")
    markdown, html = doc.markdown(), doc.html()
    assert "| a\\|b | c |" in markdown and "| x\\|y | <script> |" in markdown
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert (
        '<strong>bold</strong> and <code>code</code> and <a href="figures/a.svg">link</a>' in html
    )


def test_adapter_restores_booleans_read_back_as_text():
    column = pd.Series(["True", "False", "True"], dtype=object)
    assert report._as_bool_if_textual(column).tolist() == [True, False, True]
    assert report._as_bool_if_textual(pd.Series([0.1, 0.2])).tolist() == [0.1, 0.2]


def test_a_preset_lever_replaces_the_parameters_it_sets():
    replicates = pd.DataFrame(
        {
            "incentives": ["a", "a", "b", "b"],
            "incentives.publication_weight": [0.2, 0.2, 0.9, 0.9],
            "oversight.intensity": [0.0, 1.0, 0.0, 1.0],
        }
    )
    levers = ["incentives.publication_weight", "oversight.intensity", "incentives"]
    assert report.implied_by_choices(replicates, levers) == {
        "incentives": ["incentives.publication_weight"]
    }


def test_a_report_says_how_robust_each_effect_is_and_that_few_seeds_are_unreliable(
    grid_sweep, tmp_path
):
    out = tmp_path / "report"
    assert report.main([str(grid_sweep), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    # The count weight's and oversight's effects carry each committed analysis's figures.
    table = report.robustness_table()
    for lever in ("incentives.publication_weight", "oversight.intensity"):
        rows = table[(table["lever"] == lever) & (table["outcome"] == "breakthrough_rate")]
        assert len(rows) >= 1
        for row in rows.to_dict("records"):
            assert report.robustness_phrase(row) in text
    assert "lower at 62% of the plausible space, 95% CI 58% to 66%" in text  # the count weight
    assert report.SENSITIVITY_REPORT in text
    # Four seeds per arm: the intervals are flagged.
    assert "With 4 seeds per arm (fewer than 10) the bootstrap intervals are unreliable" in text
    # The results table shows what speaks to the levers: no outcome of a shock no arm has.
    header = next(line for line in text.splitlines() if line.startswith("| incentives."))
    assert "at the shock" not in header and "papers per researcher-year" in header
    assert "(papers per researcher-year)" not in text
    # The command that regenerates it runs the sweep too, with its own overrides.
    assert f"`python -m experiments.run -m {' '.join(SMALL)} " in text
    assert "incentives.publication_weight=0.2,0.9 oversight.intensity=0,1" in text
    assert f"&& python -m experiments.report {grid_sweep}`" in text


def test_over_an_accepted_ensemble_an_effect_gives_its_median_and_range():
    row = {"sign": "negative", "share_with_sign": 0.6, "share_low": 0.4, "share_high": 0.75}
    row |= {"median": -0.21, "q05": -0.6, "q95": 0.3, "space": report.UNCERTAINTY[1].name}
    assert report.robustness_phrase(row) == (
        "over the accepted parameter sets -0.210 (5-95% -0.600 to 0.300), lower at 60% of them"
    )


def test_ten_seeds_are_not_flagged():
    replicates = pd.DataFrame(
        {"lever": [0, 1] * 10, "seed": [s for s in range(10) for _ in (0, 1)]}
    )
    data = report.SweepData(Path("."), replicates, pd.DataFrame(), ["lever"], {}, [], {})
    assert report._few_seeds_text(data) == ""
    data.replicates = replicates[replicates["seed"] < 9]
    assert "With 9 seeds per arm" in report._few_seeds_text(data)


def test_a_title_follows_overrides_that_change_the_levers():
    from experiments.engine.catalog import report_text
    from experiments.studies.sweep import headline

    both = ["incentives.publication_weight", "oversight.intensity"]
    assert headline.title("headline", both) == report_text("headline")["title"]
    fixed_oversight = headline.title("headline", ["incentives.publication_weight"])
    assert "oversight" not in fixed_oversight
    assert fixed_oversight.startswith("Sweep over publication-count weight")


def test_the_html_report_fits_a_laptop_screen(grid_sweep, tmp_path):
    """No table makes the page wider than the window (a wide one scrolls in its own box)."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip(f"no Chromium at {chromium}: set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report"
    assert report.main([str(grid_sweep), "--out", str(out)]) == 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto((out / "report.html").as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
    assert width <= 1280, f"the page is {width} px wide"
