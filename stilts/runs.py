"""Run-dir bookkeeping for relaunches: skip finished cells, resume interrupted ones, record failures.

A cell's run dir is named by its identity (`stilts.identity.cell_name`), so a relaunched sweep finds
its earlier work there. `cell.json` holds the digest of the cell that owns the dir: a `result.json`
of the same digest means the cell is done, and its checkpoints are resumed; a run of another digest
(changed data) or one a user reruns with `force=true` is superseded: moved, never deleted, to
`<sweep dir>/.superseded/`, out of the folders the analysis reads.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

import stilts
from stilts.errors import ConfigError
from stilts.identity import CellIdentity, identity_material, short_hash

log = logging.getLogger(__name__)
RESULT = "result.json"
CELL = "cell.json"
LOCK = ".cell.lock"
SUPERSEDED = ".superseded"
# What stays in place when a run dir is handed to a new run: Hydra's record of the current launch,
# the lock the current job holds, and Hydra's job log (`<job>.log`, opened before stilts runs and
# appended to by every launch).
KEPT_IN_PLACE = (".hydra", LOCK)


def kept_in_place(path: Path) -> bool:
    return path.name in KEPT_IN_PLACE or path.suffix == ".log"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_record(path: Path) -> dict[str, Any] | None:
    """A JSON record, or None when it is absent or damaged (a damaged record is treated as absent)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def finished_result(run_dir: Path, digest: str) -> dict[str, Any] | None:
    """The result of an earlier launch of this very cell (same digest), if it finished."""
    result = read_record(run_dir / RESULT)
    if result and result.get("status") == "finished" and result.get("cell_digest") == digest:
        return result
    return None


def supersede(run_dir: Path, reason: str) -> Path | None:
    """Move what an earlier run left in `run_dir` to `<parent>/.superseded/<name>-<time>/`."""
    leftovers = [p for p in run_dir.iterdir() if not kept_in_place(p)]
    if not leftovers:
        return None
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"  # unique, also within a second
    target = run_dir.parent / SUPERSEDED / f"{run_dir.name}-{stamp}"
    target.mkdir(parents=True)
    for path in leftovers:
        path.rename(target / path.name)
    log.warning("%s held %s; moved it to %s", run_dir, reason, target)
    return target


def prepare_run_dir(run_dir: Path, identity: CellIdentity, force: bool = False) -> None:
    """Claim `run_dir` for `identity`: an earlier run of another digest, or any earlier run when
    `force` is set, is superseded; a run of the same digest is kept, to be resumed."""
    run_dir.mkdir(parents=True, exist_ok=True)
    owner = read_record(run_dir / CELL)
    previous = owner.get("cell_digest") if owner else None
    has_run = any(not kept_in_place(p) and p.name != CELL for p in run_dir.iterdir())
    if force and has_run:
        supersede(run_dir, "a run that force=true replaces")
    elif previous != identity.digest and has_run:
        supersede(run_dir, f"a run of another cell configuration or data (digest {previous or 'unknown'})")
    record = {
        "cell_digest": identity.digest,
        "identity": identity.record(),
        "stilts_version": stilts.__version__,
    }
    write_atomic(run_dir / CELL, json.dumps(record, indent=2, sort_keys=True))


def check_writable(folder: Path, key: str) -> None:
    """Make sure `folder` (the value of config key `key`) is a folder stilts can write to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except FileExistsError as err:
        raise ConfigError(f"`{key}` is {folder}, which is a file, not a folder; choose a folder") from err
    except OSError as err:
        raise ConfigError(
            f"`{key}` is {folder}, which stilts cannot write to ({err.strerror}); "
            "choose a writable folder or fix its permissions"
        ) from err


def record_failure(run_dir: Path, cfg: DictConfig, error: BaseException) -> dict[str, Any]:
    """Write a `failed` result.json naming the error, so the sweep can go on and report it. Never
    raises on a bad config: the fields it cannot read are left out."""

    def safe(read: Any) -> Any:
        try:
            return read()
        except Exception:  # noqa: BLE001 - a record of the failure matters more than each field
            return None

    result = {
        "schema": 2,
        "stilts_version": stilts.__version__,
        "status": "failed",
        "cell": safe(lambda: cfg.cell_name),
        "cell_digest": safe(lambda: "config-" + short_hash(identity_material(cfg).cell())),
        "intermediate": safe(lambda: cfg.intermediate.name),
        "task": safe(lambda: cfg.target.name),
        "restart": safe(lambda: cfg.restart),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error))[-5000:],
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / RESULT, json.dumps(result, indent=2, sort_keys=True, default=str))
    return result
