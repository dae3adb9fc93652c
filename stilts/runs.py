"""Run-dir bookkeeping for relaunches: skip finished cells, resume interrupted ones, record failures.

A cell's run dir is stable (named by the cell, not by the launch time), so a relaunched sweep finds
its earlier work: a `result.json` of the same cell configuration means the cell is done; stage
checkpoints of the same configuration are resumed; anything from a different configuration is
moved aside (never deleted) before the cell starts again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import stilts

log = logging.getLogger(__name__)
RESULT = "result.json"
CELL = "cell.json"
# The config keys that determine a cell's outcome (paths, loggers and callbacks do not).
DETERMINING_KEYS = ("intermediate", "target", "model", "optim", "restart", "seed", "seeds")


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# Trainer keys that change how results are displayed, not what they are.
DISPLAY_ONLY = ("enable_progress_bar", "log_every_n_steps", "enable_model_summary", "num_sanity_val_steps")


def training_settings(cfg: DictConfig) -> dict[str, Any]:
    """The trainer settings that can change a trained model (precision, devices, step limits...)."""
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    return {k: v for k, v in trainer.items() if k not in DISPLAY_ONLY and k != "_target_"}


def weights_digest(cfg: DictConfig) -> str | None:
    """The content hash of `model.encoder_weights`, so a retrained start point changes every key."""
    from stilts.cache import file_sha256

    weights = cfg.model.get("encoder_weights")
    return file_sha256(Path(weights)) if weights and Path(weights).is_file() else weights


def cell_digest(cfg: DictConfig) -> str:
    """A hash of everything that determines the cell's result."""
    material: dict[str, Any] = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        if isinstance(cfg.get(key), DictConfig)
        else cfg.get(key)
        for key in DETERMINING_KEYS
    }
    material["trainer"] = training_settings(cfg)
    material["encoder_weights"] = weights_digest(cfg)
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:16]


def finished_result(run_dir: Path, digest: str) -> dict[str, Any] | None:
    """The result of an earlier launch of this very cell configuration, if it finished."""
    path = run_dir / RESULT
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if result.get("status") == "finished" and result.get("cell_digest") == digest:
        return result
    return None


def prepare_run_dir(run_dir: Path, digest: str) -> None:
    """Move aside what an earlier launch of a *different* configuration left here, then claim the dir."""
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = run_dir / CELL
    previous = json.loads(marker.read_text()).get("cell_digest") if marker.is_file() else None
    leftovers = [
        p
        for p in run_dir.iterdir()
        if p.name not in (CELL, ".hydra") and not p.name.startswith("stale-") and not p.name.endswith(".log")
    ]
    if previous not in (None, digest) or (previous is None and (run_dir / RESULT).is_file()):
        stale = run_dir / f"stale-{previous or 'unknown'}-{int(time.time())}"
        stale.mkdir()
        for path in leftovers:
            path.rename(stale / path.name)
        log.warning("%s held a run of another configuration; moved it to %s", run_dir, stale)
    write_atomic(marker, json.dumps({"cell_digest": digest, "stilts_version": stilts.__version__}))


def record_failure(run_dir: Path, cfg: DictConfig, error: BaseException) -> dict[str, Any]:
    """Write a `failed` result.json naming the error, so the sweep can go on and report it."""
    result = {
        "schema": 1,
        "stilts_version": stilts.__version__,
        "status": "failed",
        "cell": cfg.get("cell_name"),
        "cell_digest": cell_digest(cfg),
        "intermediate": cfg.intermediate.get("name"),
        "task": cfg.target.get("name"),
        "restart": cfg.get("restart"),
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error))[-5000:],
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / RESULT, json.dumps(result, indent=2, sort_keys=True, default=str))
    return result
