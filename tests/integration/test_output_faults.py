"""Output faults met by a cell: a task name that is a path is refused before any work, a full disk
while the intermediate encoder is written names the path, a read-only cache that holds the encoder
serves it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from safetensors import SafetensorError

import stilts.runs
from stilts.cell import resolve_cell
from stilts.errors import ConfigError, StorageError
from stilts.pipeline import run_cell
from tests.helpers import compose_cfg, run_tiny_cell, tiny_overrides
from tests.unit.test_output_faults import make_read_only


def test_a_task_name_that_is_a_path_is_refused_before_any_work(tmp_path: Path) -> None:
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=rte", "target.name=../../rte"])
    with pytest.raises(ConfigError, match="`target.name` is '../../rte', which is not a plain folder name"):
        run_cell(resolve_cell(cfg), tmp_path / "run")
    assert not (tmp_path / "cache").exists()


def test_a_full_disk_while_the_intermediate_encoder_is_written_names_the_path(tmp_path, monkeypatch) -> None:
    def full_disk(tensors: dict, filename: str) -> None:  # what safetensors raises on ENOSPC
        raise SafetensorError(
            "Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
            'message: "No space left on device" })'
        )

    monkeypatch.setattr(stilts.runs, "save_file", full_disk)
    with pytest.raises(
        StorageError, match=r"cannot write .*/intermediate/\.\w+\.tmp-\w+/encoder\.safetensors"
    ):
        run_tiny_cell(tmp_path, ["task@intermediate=cb", "+trainer.max_steps=1", "task@target=rte"])
    root = tmp_path / "cache" / "intermediate"
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == []  # nothing half-published


def test_a_cell_runs_from_a_read_only_cache_that_holds_its_encoder(tmp_path, monkeypatch) -> None:
    intermediate = ["task@intermediate=cb", "+trainer.max_steps=1"]
    first = run_tiny_cell(tmp_path, [*intermediate, "task@target=rte"], run_name="first")
    assert first["encoder_source"]["trained_now"] is True
    root = tmp_path / "cache" / "intermediate"
    make_read_only(root, monkeypatch)
    try:
        second = run_tiny_cell(tmp_path, [*intermediate, "task@target=cb"], run_name="second")
    finally:
        for folder in [root, *root.iterdir()]:
            folder.chmod(stat.S_IRWXU)
    assert second["status"] == "finished" and second["encoder_source"]["trained_now"] is False
    assert second["encoder_source"]["cache_key"] == first["encoder_source"]["cache_key"]
