"""A stage's Lightning checkpoints: loaded safely, and the one an interrupted stage resumes from,
with damaged files moved aside."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import torch

from stilts.errors import CheckpointError

log = logging.getLogger(__name__)


def load_checkpoint(path: Path, folder: Path) -> dict[str, Any]:
    """Load a stage checkpoint safely: only from inside the stage's checkpoint folder (last.ckpt is a
    link that an edit could point anywhere) and with `weights_only=True` (no pickled code runs)."""
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise CheckpointError(f"{path} points outside {folder} (to {real}); refusing to load it")
    try:
        return torch.load(real, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # truncated, corrupt, or not a weights-only checkpoint
        raise CheckpointError(f"{path}: cannot be loaded as a weights-only checkpoint ({err})") from err


def resume_checkpoint(folder: Path) -> Path | None:
    """The checkpoint an interrupted stage resumes from: `last.ckpt` (the newest validated state, see
    stilts.callbacks.BestAndLatestCheckpoint), else the newest other checkpoint file. A candidate that
    does not load (truncated by a kill, corrupt, pointing outside the folder) is reported and moved to
    `checkpoints/damaged/`, and the next one is tried; with none left the stage starts afresh."""
    if not folder.is_dir():
        return None
    last = folder / "last.ckpt"
    others = sorted(
        (p for p in folder.glob("*.ckpt") if p.name != last.name and p.is_file() and not p.is_symlink()),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    candidates = ([last] if last.is_symlink() or last.exists() else []) + others
    for candidate in candidates:
        try:
            load_checkpoint(candidate, folder)
            return candidate
        except CheckpointError as err:
            damaged = folder / "damaged"
            damaged.mkdir(exist_ok=True)
            candidate.rename(
                damaged / f"{candidate.name}.{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
            )
            log.warning("%s; moved it to %s and looking for an older checkpoint", err, damaged)
    return None
