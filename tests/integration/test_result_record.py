"""A tiny cell writes its finished and failed records through the typed record (stilts.result)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stilts.result import SCHEMA_VERSION, read_result, record_failure
from tests.helpers import compose_cfg, run_tiny_cell, tiny_overrides


def test_finished_and_failed_records_are_written_by_the_typed_record(tmp_path: Path) -> None:
    run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=1"])
    finished = read_result(tmp_path / "run" / "result.json")
    assert finished.status == "finished" and finished.schema == SCHEMA_VERSION
    assert finished.main_range == [0.0, 1.0]  # RTE's accuracy
    assert finished.main == pytest.approx(finished.metrics["acc"])
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=cb", "restart=1"])
    record_failure(tmp_path / "failed", cfg, RuntimeError("boom"))
    failed = read_result(tmp_path / "failed" / "result.json")
    assert (failed.status, failed.task, failed.restart) == ("failed", "cb", 1)
    assert failed.error == "RuntimeError: boom" and failed.cell == cfg.cell_name
    on_disk = json.loads((tmp_path / "failed" / "result.json").read_text())
    assert "main" not in on_disk and on_disk["schema"] == SCHEMA_VERSION  # unknown values are left out
