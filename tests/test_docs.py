"""The docs say what the code does: the parameter reference is generated from the schema."""

from pathlib import Path

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
