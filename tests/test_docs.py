"""The docs say what the code does: the parameter reference is generated from the schema, and the
figures the docs quote are those of the committed results."""

import csv
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from experiments.present.figures import number
from sim import MECHANISMS
from sim.docs import (
    BEGIN,
    END,
    METRICS_BEGIN,
    METRICS_END,
    render_metrics_table,
    render_parameter_table,
)

ROOT = Path(__file__).resolve().parents[1]


def test_odd_parameter_table_is_current():
    text = (ROOT / "docs" / "ODD.md").read_text()
    table = text.split(BEGIN)[1].split(END)[0].strip()
    assert table == render_parameter_table(), "run: python -m sim.docs docs/ODD.md"


def test_odd_metrics_table_is_current():
    text = (ROOT / "docs" / "ODD.md").read_text()
    table = text.split(METRICS_BEGIN)[1].split(METRICS_END)[0].strip()
    assert table == render_metrics_table(), "run: python -m sim.docs docs/ODD.md"


def test_every_mechanism_module_names_its_source_and_rules():
    for mechanism in MECHANISMS:
        doc = __import__(mechanism.__module__, fromlist=["_"]).__doc__
        assert "Source" in doc and "Rule" in doc, mechanism.__module__


# What users read first: the README, the links of every doc, the figures they quote.

README = ROOT / "README.md"
LINKS_HEADING = "## Read more"
SUMMARY_LINES = 7  # the title, a blank line and the five lines that say what the model shows
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def csv_rows(path: str, **match) -> list[dict]:
    with open(ROOT / path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [row for row in rows if all(row[k] == v for k, v in match.items())]


def test_readme_fits_in_about_800_words_before_its_links():
    text = README.read_text()
    assert LINKS_HEADING in text
    assert len(text.split(LINKS_HEADING)[0].split()) <= 850


def test_every_relative_link_in_the_docs_exists():
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(doc.read_text()):
            path = target.split("#")[0]
            if path and not re.match(r"[a-z]+:", path):
                assert (doc.parent / path).exists(), f"{doc.name} links to missing {target}"


def test_readme_shows_the_robustness_figure():
    assert "](results/sensitivity/figures/robustness.png)" in README.read_text()


def test_readme_summary_quotes_the_uncertainty_analysis():
    """Its first lines give each lever's robustness as results/sensitivity/ has it."""
    summary = " ".join(README.read_text().splitlines()[:SUMMARY_LINES])
    summary = " ".join(summary.split())
    with open(ROOT / "results/sensitivity/design.csv", newline="") as f:
        factors = len(next(csv.reader(f))) - 1  # every column but `point`
    share = {}
    for row in csv_rows("results/sensitivity/robustness.csv", outcome="breakthrough_rate"):
        share[row["lever"]] = float(row["share_with_sign"])
        points = row["points"]
    assert f"{factors} uncertain assumptions" in summary
    assert f"at {share['oversight.intensity']:.0%} of {points} points" in summary
    assert f"only at {share['incentives.publication_weight']:.0%}" in summary


def test_readme_quotes_the_posterior_predictive_as_committed():
    """Effects over the posterior's draws, as results/posterior/robustness.csv has them."""
    text = " ".join(README.read_text().split())
    rows = {
        row["lever"]: row
        for row in csv_rows("results/posterior/robustness.csv", outcome="breakthrough_rate")
    }
    oversight, count = rows["oversight.intensity"], rows["incentives.publication_weight"]
    assert f"median {float(oversight['median']):.2f} per 1,000" in text
    assert f"5-95% {float(oversight['q05']):.2f} to {float(oversight['q95']):.2f}" in text
    assert f"counting papers at {float(count['share_with_sign']):.0%} of them" in text
    assert f"median {float(count['median']):.2f}, 5-95% {float(count['q05']):.2f} to " in text
    design = csv_rows("results/posterior/design.csv")
    draws = len(design)
    sets = len({tuple(v for k, v in row.items() if k != "point") for row in design})
    assert f"{draws} draws by weight from the calibration's posterior ({sets} distinct" in text


def test_docs_quote_the_headline_contrasts_as_committed():
    def contrast(weight, intensity):
        (row,) = csv_rows(
            "results/headline/contrasts.csv",
            metric="breakthrough_rate",
            **{"incentives.publication_weight": weight, "oversight.intensity": intensity},
        )
        return [float(row[k]) for k in ("difference", "ci_low", "ci_high")]

    (base,) = csv_rows(
        "results/headline/summary.csv",
        metric="breakthrough_rate",
        **{"incentives.publication_weight": "0.0", "oversight.intensity": "0.0"},
    )
    rate = float(base["mean"])
    counts, ci_low, ci_high = contrast("1.0", "0.0")
    oversight, o_low, o_high = contrast("0.0", "1.0")
    results = " ".join((ROOT / "docs" / "results.md").read_text().split())
    assert (
        f"{number(counts)} breakthroughs per 1,000 researcher-years (paired 95% CI "
        f"{number(ci_low)} to {number(ci_high)}; {number(rate)} at weight 0, "
        f"so {counts / rate:.0%})"
    ) in results
    assert f"{number(oversight)} (95% CI {number(o_low)} to {number(o_high)})" in results
    assert f"{-oversight / rate:.0%} of the rate" in results
    summary = " ".join(README.read_text().split())
    assert f"oversight costs {-oversight / rate:.0%} of breakthroughs" in summary
    moves = "raises" if counts > 0 else "lowers"
    assert f"paper counts {moves} them by about {abs(counts) / rate:.0%}" in summary


def test_docs_count_the_calibration_as_committed():
    targets = yaml.safe_load((ROOT / "configs/calibration/targets.yaml").read_text())["targets"]
    table = csv_rows("results/calibration/table.csv", use="fit")
    fitted = csv_rows("results/calibration/parameters.csv")
    words = {9: "nine", 12: "twelve", 13: "thirteen", 19: "nineteen"}
    results = " ".join((ROOT / "docs" / "results.md").read_text().split())
    assert f"{words[len(targets)]} targets" in results
    assert f"fits {words[len(fitted)]} structural parameters" in results
    met = sum(row["fitted_met"] == "True" for row in table)  # the fitted point is the defaults
    assert f"meet {met} of the {len(table)} fitting targets" in results


def test_make_alone_lists_every_target():
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    makefile = (ROOT / "Makefile").read_text()
    targets = re.search(r"^\.PHONY: (.+)$", makefile, re.M).group(1).split()
    shown = subprocess.run(
        ["make", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for target in targets:
        assert re.search(rf"^  make {target} +\S", shown, re.M), target


STARTS = """
import contextlib, importlib, io, sys
for name, entry in {scripts!r}.items():
    module, function = entry.split(":")
    main = getattr(importlib.import_module(module), function)
    sys.argv = [name, "--help"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            code = main()  # the installed script exits with what main returns or raises
        except SystemExit as stop:
            code = stop.code
    shown = printed.getvalue().lower()
    if code not in (0, None) or not ("usage" in shown or "powered by hydra" in shown):
        sys.exit(f"{{name}} --help: exit status {{code}}, printed {{shown[:200]!r}}")
"""


def test_every_console_script_starts():
    """Each `[project.scripts]` entry imports and answers --help, as its installed script would."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts
    done = subprocess.run(
        [sys.executable, "-c", STARTS.format(scripts=scripts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-1000:]


NUMBER = r"(-?\d[\d,]*(?:\.\d+)?)"
QUOTED_CI = re.compile(rf"(points, )?95% CI\s+{NUMBER}(%?)\s+to\s+{NUMBER}(%?)")
REPORT_CI = re.compile(rf"95% CI\s+{NUMBER}%?\s+to\s+{NUMBER}|\[{NUMBER}, {NUMBER}\]")


def test_results_doc_quotes_intervals_from_the_committed_reports():
    """Every interval docs/results.md quotes is one a committed report prints (up to sign, as the
    doc may say "lose 1.73" for -1.73), except shares and percentage points: those are relative
    figures computed from the replicates, which are not committed."""

    def pair(low, high):
        return tuple(sorted(abs(float(x.replace(",", ""))) for x in (low, high)))

    printed = set()
    for report in ROOT.glob("results/*/report.md"):
        for match in REPORT_CI.findall(report.read_text()):
            low, high = (x for x in match if x)
            printed.add(pair(low, high))
    quoted = QUOTED_CI.findall((ROOT / "docs" / "results.md").read_text())
    checked = [pair(low, high) for points, low, _, high, share in quoted if not points + share]
    assert len(checked) >= 10
    missing = [ci for ci in checked if ci not in printed]
    assert not missing, f"intervals in docs/results.md that no report prints: {missing}"


def test_citation_and_license_agree_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert (citation["version"], citation["license"]) == (project["version"], project["license"])
    assert (ROOT / "LICENSE").read_text().startswith(f"{project['license']} License")
