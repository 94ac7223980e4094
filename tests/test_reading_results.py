"""The pandas example in docs/reading-results.md runs and gives what the text says."""

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reading-results.md"


def test_query_example_with_dotted_names_runs(monkeypatch):
    section = DOC.read_text().split("## Reading the tables in pandas")[1]
    code = section.split("```python")[1].split("```")[0]
    monkeypatch.chdir(ROOT)
    names: dict = {}
    exec(compile(code, str(DOC), "exec"), names)  # the doc's own code, unchanged
    rates = names["no_oversight"]
    assert list(rates["incentives.publication_weight"]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    quoted = re.search(r"from ([\d.]+)\s+at weight 0 to ([\d.]+) at weight 1", section)
    assert quoted, "the sentence after the example quotes the rates at weight 0 and 1"
    assert rates["mean"].iloc[0] == pytest.approx(float(quoted[1]), abs=0.05)
    assert rates["mean"].iloc[-1] == pytest.approx(float(quoted[2]), abs=0.05)


def test_without_backticks_query_fails_as_the_doc_says():
    summary = pd.read_csv(ROOT / "results" / "headline" / "summary.csv")
    with pytest.raises(Exception, match="name 'oversight' is not defined"):
        summary.query("`metric` == 'breakthrough_rate' and oversight.intensity == 0")
