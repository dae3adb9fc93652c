"""Faults: damaged cache entries and checkpoints heal (reported with their path, moved aside,
recomputed once), unsafe checkpoints are never unpickled, loggers are finished when a stage fails,
and `force=true` reruns from scratch."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from lightning.pytorch.loggers import CSVLogger

from tests.helpers import run_tiny_cell

INTERMEDIATE = ["task@intermediate=cb", "+trainer.max_steps=2"]


def cache_entries(tmp_path: Path) -> list[Path]:
    root = tmp_path / "cache" / "intermediate"
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def damage_meta_missing(entry: Path) -> None:
    (entry / "meta.json").unlink()


def damage_meta_corrupt(entry: Path) -> None:
    (entry / "meta.json").write_text('{"key": "truncat')


def damage_weights_changed(entry: Path) -> None:
    weights = entry / "encoder.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))


def test_damaged_cache_entries_are_moved_aside_and_trained_again_once(tmp_path, caplog) -> None:
    first = run_tiny_cell(tmp_path, [*INTERMEDIATE, "task@target=rte"], run_name="first")
    assert first["encoder_source"]["trained_now"] is True
    for number, damage in enumerate((damage_meta_missing, damage_meta_corrupt, damage_weights_changed)):
        (entry,) = cache_entries(tmp_path)
        damage(entry)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            healed = run_tiny_cell(tmp_path, [*INTERMEDIATE, "task@target=rte"], run_name=f"healed{number}")
        assert healed["status"] == "finished" and healed["encoder_source"]["trained_now"] is True
        assert f"cache entry {entry} is damaged" in caplog.text
        damaged = list((tmp_path / "cache" / "intermediate" / ".damaged").iterdir())
        assert len(damaged) == number + 1
        again = run_tiny_cell(tmp_path, [*INTERMEDIATE, "task@target=rte"], run_name=f"again{number}")
        assert again["encoder_source"]["trained_now"] is False  # healed once, then reused


def test_truncated_last_checkpoint_is_moved_aside_and_the_cell_finishes(tmp_path, caplog) -> None:
    cell = ["task@target=rte", "++target.val_interval=2", "+trainer.max_steps=6", "keep_checkpoints=true"]
    run_tiny_cell(tmp_path, cell)
    run = tmp_path / "run"
    (run / "result.json").unlink()  # as if killed after the last checkpoint
    last = run / "target" / "checkpoints" / "last.ckpt"
    data = last.resolve().read_bytes()
    last.unlink()
    last.write_bytes(data[: len(data) // 3])
    with caplog.at_level(logging.WARNING):
        result = run_tiny_cell(tmp_path, cell)
    assert result["status"] == "finished" and result["steps"] == 6
    assert "cannot be loaded as a weights-only checkpoint" in caplog.text and str(last) in caplog.text
    assert list((run / "target" / "checkpoints" / "damaged").glob("last.ckpt.*"))


class RecordingLogger(CSVLogger):
    """A CSV logger that records how each run it logged ended."""

    statuses: list[str] = []

    def finalize(self, status: str) -> None:
        RecordingLogger.statuses.append(status)
        super().finalize(status)


def test_a_failing_stage_finishes_its_logger(tmp_path, monkeypatch) -> None:
    RecordingLogger.statuses = []
    logger = ["logger=csv", f"logger._target_={__name__}.RecordingLogger", "+trainer.max_steps=1"]

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr("stilts.stage._fit_and_score", boom)
        with pytest.raises(RuntimeError, match="boom"):
            run_tiny_cell(tmp_path, ["task@target=rte", *logger], run_name="a")
    assert RecordingLogger.statuses == ["failed"]
    run_tiny_cell(tmp_path, ["task@target=rte", *logger], run_name="b")
    # Lightning finalizes too, at the end of fit and of validate; a successful stage never says failed.
    assert RecordingLogger.statuses[0] == "failed" and set(RecordingLogger.statuses[1:]) == {"success"}


def test_force_reruns_from_scratch_and_moves_the_old_run_aside(tmp_path, caplog) -> None:
    cell = ["task@target=rte", "++target.val_interval=2", "+trainer.max_steps=4", "keep_checkpoints=true"]
    first = run_tiny_cell(tmp_path, cell)
    with caplog.at_level(logging.INFO):
        again = run_tiny_cell(tmp_path, [*cell, "force=true"])
    assert "resuming" not in caplog.text and again["steps"] == 4
    (superseded,) = (tmp_path / ".superseded").iterdir()
    assert json.loads((superseded / "result.json").read_text()) == first
