"""Result records from W&B: the public API (`wandb:ENTITY/PROJECT`) and offline run folders.

Each downstream stage's W&B run carries the whole result.json as `summary["result"]`. wandb 0.31 writes
no `files/wandb-summary.json` for offline runs and no longer ships a Python reader for its transaction
log, so `read_offline_run` parses `run-<id>.wandb` itself: the LevelDB-style log format (7-byte file
header ':W&B' + magic 0xBEE1 + version, then 32 KiB blocks of records with a 7-byte header: CRC32C,
length, type FULL/FIRST/MIDDLE/LAST) holding `wandb.proto.wandb_internal_pb2.Record` messages.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilts.analysis.records import PREDICTIONS_FILE, RecordError, ResultsError, record_row, reject

log = logging.getLogger(__name__)

FILE_HEADER = struct.Struct("<4sHB")
RECORD_HEADER = struct.Struct("<IHB")
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
DOWNSTREAM = ("target", "probing")


@dataclass(frozen=True)
class OfflineRun:
    """What an offline W&B run recorded: identity, config and the final summary."""

    path: Path
    run_id: str
    name: str
    job_type: str
    group: str
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def iter_log_records(path: Path) -> Iterator[bytes]:
    """Yield the payload of each complete record of a .wandb log; a torn tail (crashed writer) ends it."""
    data = path.read_bytes()
    if len(data) < FILE_HEADER.size or FILE_HEADER.unpack_from(data)[:2] != (b":W&B", 0xBEE1):
        raise ResultsError(f"{path}: not a W&B transaction log (bad file header)")
    offset, pending = FILE_HEADER.size, b""
    while offset + RECORD_HEADER.size <= len(data):
        room = BLOCK - offset % BLOCK
        if room < RECORD_HEADER.size:  # the writer pads the end of a block that cannot hold a header
            offset += room
            continue
        _crc, length, kind = RECORD_HEADER.unpack_from(data, offset)
        offset += RECORD_HEADER.size
        if kind == 0 and length == 0:  # zero padding after a torn write
            break
        chunk = data[offset : offset + length]
        offset += length
        if len(chunk) < length:
            log.warning("%s: truncated record at the end of the log, ignored", path)
            break
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


def set_nested(target: dict[str, Any], keys: list[str], value: Any) -> None:
    """Assign `value` at the key path `keys`, creating sub-dicts on the way."""
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def item_keys(item: Any) -> list[str]:
    """The key path of a SummaryItem/ConfigItem: `nested_key` when set, else `[key]`."""
    return list(item.nested_key) if len(item.nested_key) else [item.key]


def read_offline_run(folder: str | Path) -> OfflineRun:
    """Replay an offline run's log into its identity, config and final summary.

    Args:
        folder: An `offline-run-*` (or `run-*`) folder holding one `run-<id>.wandb` file.

    Raises:
        ResultsError: When the folder has no .wandb log or the log cannot be parsed.
    """
    from wandb.proto import wandb_internal_pb2 as pb  # heavy; only needed for offline sources

    folder = Path(folder)
    logs = sorted(folder.glob("*.wandb"))
    if not logs:
        raise ResultsError(f"{folder}: no .wandb log in this offline run folder")
    meta: dict[str, str] = {"run_id": "", "name": "", "job_type": "", "group": ""}
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for payload in iter_log_records(logs[0]):
        record = pb.Record()
        try:
            record.ParseFromString(payload)
        except Exception as err:  # protobuf's DecodeError; a corrupt record should name the file
            raise ResultsError(f"{logs[0]}: corrupt record ({err})") from err
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            meta = {
                "run_id": run.run_id,
                "name": run.display_name,
                "job_type": run.job_type,
                "group": run.run_group,
            }
            for item in run.config.update:
                set_nested(config, item_keys(item), json.loads(item.value_json))
        elif kind == "config":
            for item in record.config.update:
                set_nested(config, item_keys(item), json.loads(item.value_json))
        elif kind == "summary":
            for item in record.summary.update:
                set_nested(summary, item_keys(item), json.loads(item.value_json))
            for item in record.summary.remove:
                keys = item_keys(item)
                parent = summary
                for key in keys[:-1]:
                    parent = parent.get(key, {})
                parent.pop(keys[-1], None)
    return OfflineRun(path=folder, config=config, summary=summary, **meta)


def find_offline_runs(root: Path) -> list[Path]:
    """Offline run folders under `root`, or `root` itself when it is one."""
    if any(root.glob("*.wandb")):
        return [root]
    return sorted(
        p.parent for p in root.rglob("run-*.wandb") if p.parent.name.startswith(("offline-run-", "run-"))
    )


def find_predictions(run_folder: Path) -> Path | None:
    """The cell's predictions.jsonl: the pipeline puts W&B runs at <cell>/<role>/wandb/offline-run-*."""
    for parent in list(run_folder.parents)[:4]:
        if (parent / PREDICTIONS_FILE).is_file():
            return parent / PREDICTIONS_FILE
    return None


def offline_rows(root: Path, rejected: list[str] | None = None) -> list[dict[str, Any]]:
    """Frame rows from the downstream offline runs under `root` (intermediate-stage runs are skipped);
    an invalid result record is reported and appended to `rejected`."""
    if not root.exists():
        raise ResultsError(f"{root}: results source does not exist")
    rows = []
    for folder in find_offline_runs(root):
        run = read_offline_run(folder)
        result = run.summary.get("result")
        if run.job_type not in DOWNSTREAM or not isinstance(result, dict):
            log.debug("%s: job_type %r without a result, skipped", folder, run.job_type)
            continue
        # offline-run-YYYYmmdd_HHMMSS-<id>: the time stamp orders duplicates; the random id must not.
        created = "-".join(folder.name.split("-")[:-1])
        try:
            rows.append(record_row(result, str(folder), find_predictions(folder), created=created))
        except RecordError as err:
            reject(rejected, err)
    log.info("read %d downstream offline W&B runs under %s", len(rows), root)
    return rows


def plain(value: Any) -> Any:
    """Deep-convert W&B summary containers (SummarySubDict and the like) into plain dicts and lists."""
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def api_rows(project: str, api: Any = None, rejected: list[str] | None = None) -> list[dict[str, Any]]:
    """Frame rows from the downstream runs of a W&B project via the public API.

    Args:
        project: `ENTITY/PROJECT`.
        api: A `wandb.Api`-like object; default `wandb.Api()` (needs network and credentials).
        rejected: Where to append each invalid result record's message (it is reported either way).
    """
    if project.count("/") != 1:
        raise ResultsError(f"wandb:{project}: expected wandb:ENTITY/PROJECT")
    if api is None:
        import wandb

        api = wandb.Api()
    rows = []
    for run in api.runs(project):
        if getattr(run, "job_type", None) not in DOWNSTREAM:
            continue
        result = plain(run.summary.get("result"))
        if not isinstance(result, dict):
            log.warning("wandb:%s run %s has no summary 'result', skipped", project, run.name)
            continue
        path = "/".join(run.path) if isinstance(run.path, list | tuple) else str(run.path)
        created = str(getattr(run, "created_at", ""))
        try:
            rows.append(record_row(result, f"wandb:{path}", None, created=created))
        except RecordError as err:
            reject(rejected, err)
    log.info("read %d downstream runs from wandb:%s", len(rows), project)
    return rows
