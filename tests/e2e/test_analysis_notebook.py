"""notebooks/analysis.ipynb runs headless (nbclient, the venv's python3 kernel) on the fixture sweep."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "analysis.ipynb"
SWEEP = REPO / "tests" / "fixtures" / "analysis" / "sweep"


def test_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits the environment: point it at the fixture and keep the bootstrap small.
    monkeypatch.setenv("STILTS_ANALYSIS_SOURCE", str(SWEEP))
    monkeypatch.setenv("STILTS_ANALYSIS_RESAMPLES", "100")
    monkeypatch.setenv("WANDB_MODE", "offline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6  # transfer matrix, 4 correlation heatmaps, size curves
    assert "61 records, 60 after de-duplication, 1 failed" in "".join(o.get("text", "") for o in outputs)
