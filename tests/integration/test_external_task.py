"""Adding a task without touching the package (issue 12, docs/adding_a_task.md): a folder with
`conf/task/<name>.yaml` (and, for a task of its own shape, one Python module) joins through Hydra's
search path and trains like a built-in task."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stilts.cell import resolve_cell
from stilts.pipeline import run_cell
from tests.helpers import compose_cfg, tiny_overrides

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "external_task"


@pytest.fixture
def external(tmp_path: Path) -> Path:
    """The user's folder (a yaml per task, one module, their data), copied outside the repository."""
    shutil.copytree(FIXTURE, tmp_path / "my_tasks")
    return tmp_path / "my_tasks"


def overrides(tmp_path: Path, folder: Path, *cell: str) -> list[str]:
    return [
        *tiny_overrides(tmp_path, folder / "data"),
        f"hydra.searchpath=[file://{folder / 'conf'}]",
        "+trainer.max_steps=4",
        *cell,
    ]


def test_a_special_task_from_an_outside_folder_trains(
    tmp_path: Path, external: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(external))  # where claims_task.py lives (PYTHONPATH for users)
    cfg = compose_cfg(overrides(tmp_path, external, "task@target=claims"))
    result = run_cell(resolve_cell(cfg), tmp_path / "run")
    assert result["status"] == "finished" and result["task"] == "claims" and result["steps"] == 4
    assert set(result["metrics"]) == {"acc", "true_share"}
    rows = (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    predicted_true = sum('"preds": 1' in row for row in rows) / len(rows)
    assert result["metrics"]["true_share"] == pytest.approx(predicted_true)  # the task's own metric


def test_a_standard_task_is_one_yaml_and_works_in_both_slots(tmp_path: Path, external: Path) -> None:
    settings = overrides(tmp_path, external, "task@intermediate=polarity", "task@target=polarity")
    result = run_cell(resolve_cell(compose_cfg(settings)), tmp_path / "run")
    assert result["status"] == "finished" and result["encoder_source"]["task"] == "polarity"
