"""Adding a task without touching the package (issue 12, docs/adding_a_task.md): a folder with
`conf/task/<name>.yaml` (and, for a task of its own shape, one Python module) joins through Hydra's
search path and trains like a built-in task."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stilts.pipeline import run_cell
from tests.helpers import REPO, cli, compose_cfg, offline_env, tiny_overrides

EXTERNAL = Path(__file__).resolve().parent / "fixtures" / "external_task"


def overrides(tmp_path: Path, *cell: str) -> list[str]:
    return [
        *tiny_overrides(tmp_path, EXTERNAL / "data"),
        f"hydra.searchpath=[file://{EXTERNAL / 'conf'}]",
        "+trainer.max_steps=4",
        *cell,
    ]


def test_a_special_task_from_an_outside_folder_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXTERNAL))  # where claims_task.py lives (PYTHONPATH for users)
    result = run_cell(compose_cfg(overrides(tmp_path, "task@target=claims")), tmp_path / "run")
    assert result["status"] == "finished" and result["task"] == "claims" and result["steps"] == 4
    assert set(result["metrics"]) == {"acc", "true_share"}
    rows = (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    predicted_true = sum('"preds": 1' in row for row in rows) / len(rows)
    assert result["metrics"]["true_share"] == pytest.approx(predicted_true)  # the task's own metric


def test_a_standard_task_is_one_yaml_and_works_in_both_slots(tmp_path: Path) -> None:
    settings = overrides(tmp_path, "task@intermediate=polarity", "task@target=polarity")
    result = run_cell(compose_cfg(settings), tmp_path / "run")
    assert result["status"] == "finished" and result["encoder_source"]["task"] == "polarity"


def test_the_cli_finds_an_outside_task(tmp_path: Path) -> None:
    env = {**offline_env(), "PYTHONPATH": f"{EXTERNAL}:{REPO}"}
    done = subprocess.run(
        cli("train", *overrides(tmp_path, "task@target=claims")),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "runs").glob("none__claims__*/result.json"))
