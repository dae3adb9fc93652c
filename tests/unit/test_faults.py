"""Faults without training: a checkpoint that would run code is refused, never unpickled; resuming follows
`last` or falls back to the newest sound checkpoint. (Cells that heal: tests/integration/test_faults.py.)"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from stilts.checkpoints import resume_checkpoint


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
