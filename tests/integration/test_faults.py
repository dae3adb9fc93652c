"""Faults: damaged cache entries and checkpoints heal (reported with their path, moved aside,
recomputed once), unsafe checkpoints are never unpickled, loggers are finished when a stage fails,
and `force=true` reruns from scratch."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from stilts.checkpoints import resume_checkpoint
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


class Payload:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - the pickle protocol
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    marker = tmp_path / "pwned"
    evil = tmp_path / "elsewhere" / "evil.ckpt"
    evil.parent.mkdir()
    torch.save({"state_dict": {}, "payload": Payload(marker)}, evil)
    (folder / "last.ckpt").symlink_to(evil)  # an edited link pointing outside the stage's folder
    assert resume_checkpoint(folder) is None
    assert not marker.exists()
    shutil.copy(evil, folder / "best.ckpt")  # and a pickle inside the folder
    assert resume_checkpoint(folder) is None
    assert not marker.exists()
    assert len(list((folder / "damaged").iterdir())) == 2


def test_resume_follows_last_or_falls_back_to_the_newest_sound_checkpoint(tmp_path) -> None:
    assert resume_checkpoint(tmp_path / "none_yet") is None
    first, second = tmp_path / "best.ckpt", tmp_path / "best-v1.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1)}}, first)
    (tmp_path / "last.ckpt").symlink_to(first.name)
    assert resume_checkpoint(tmp_path) == tmp_path / "last.ckpt"
    # Killed after the new best was written and the old one removed, before last.ckpt was re-linked.
    torch.save({"state_dict": {"w": torch.zeros(1)}}, second)
    first.unlink()
    assert resume_checkpoint(tmp_path) == second


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
