"""The tutorial notebook (docs/tutorial.ipynb) runs top to bottom and prints what it shows.

Its outputs are committed, so that a reader sees them on opening it; these tests rerun it and
check that it still prints the same numbers, and that it leaves nothing behind. After a change
that moves them, execute it again in place:

    jupyter nbconvert --to notebook --execute --inplace docs/tutorial.ipynb
"""

import tempfile
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
VARIES = "varies"  # the tag of a cell whose printout changes from run to run (timings)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def printed(cell) -> str:
    """What a cell shows as text: its printout and its results' text forms, not images."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        for kind in ("text/plain", "text/markdown"):
            parts.append(out.get("data", {}).get(kind, ""))
    return "".join(parts)


def test_tutorial_is_committed_executed_in_order():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "execute the notebook top to bottom"
    assert not any(out.output_type == "error" for c in code_cells(nb) for out in c.outputs)
    assert any("image/png" in out.get("data", {}) for c in code_cells(nb) for out in c.outputs)


def test_committed_tutorial_names_no_local_path():
    text = NOTEBOOK.read_text()
    for local in (str(ROOT), tempfile.gettempdir() + "/", str(Path.home()) + "/"):
        assert local not in text, local


def test_tutorial_runs_prints_its_committed_outputs_and_leaves_nothing(tmp_path, monkeypatch):
    committed = nbformat.read(NOTEBOOK, as_version=4)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the kernel's and its commands' temporary files
    monkeypatch.delenv("MPLBACKEND", raising=False)  # Jupyter's own backend shows the figures
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    for ran, shown in zip(code_cells(nb), code_cells(committed), strict=True):
        if VARIES not in shown.metadata.get("tags", []):
            assert printed(ran) == printed(shown), f"{shown.source[:60]}...: see module doc"
    everything = "\n".join(printed(cell) for cell in code_cells(nb))
    assert "out of range" in everything  # the bad-input cell
    assert everything.count("paired 95% CI") == 2  # the lever comparison and the exercise
    assert "report written to" in everything and "contrasts.csv" in everything
    assert not list(scratch.iterdir()), "the notebook left temporary files"
