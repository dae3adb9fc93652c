"""Results and cache entries written under an older key version (stilts.identity.KEY_VERSION).

An older key cannot be matched to the current one: version 1 hashed the model's absolute path and the
tasks' descriptions, so no content-based key can say which old entry it equals. stilts neither reuses
such work silently nor retrains it silently: `stilts-plan` counts it (and `--list` names it), and
`stilts-train` names it in a warning before it runs the cell (or trains the encoder) under the current
version. An old run dir of the cell's slot is then moved to the sweep's `.superseded/` folder, as any
superseded run is (so the analysis reads the new result only); an old cache entry stays in place:
delete it once nothing needs it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from stilts.identity import KEY_VERSION
from stilts.result import RESULT, RecordError, read_result
from stilts.runs import read_record, supersede

log = logging.getLogger(__name__)
FIRST_VERSION = 1  # records from before key versions were written
META = "meta.json"  # stilts.cache.META (not imported: stilts.cache is below this module)


def record_version(identity: Any) -> int:
    """The key version of a result's `identity` (or a cache entry's `material`) mapping."""
    version = identity.get("key_version") if isinstance(identity, dict) else None
    return int(version) if isinstance(version, int) else FIRST_VERSION


def older_results(run_dir: Path) -> list[Path]:
    """Finished run dirs of the same slot as `run_dir` (same tasks, restart, seed, lr and dropout) whose
    result was written under an older key version."""
    slot = run_dir.name.rsplit("__", 1)[0]
    if not run_dir.parent.is_dir():
        return []
    found = []
    for other in sorted(run_dir.parent.glob(f"{slot}__*")):
        try:
            result = read_result(other / RESULT)
        except RecordError:  # not a usable record: nothing of an older version to report
            continue
        if other != run_dir and result and result.status == "finished":
            if record_version(result.identity) < KEY_VERSION:
                found.append(other)
    return found


def older_entries(cache_root: Path, task: str, seed: int) -> list[Path]:
    """Cache entries of an intermediate encoder of `task` and `seed` written under an older key version."""
    if not cache_root.is_dir():
        return []
    found = []
    for entry in sorted(p for p in cache_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        material = (read_record(entry / META) or {}).get("material") or {}
        named = material.get("task")  # version 1: the task's name; later: its node, with its name
        name = named.get("name") if isinstance(named, dict) else named
        if record_version(material) < KEY_VERSION and name == task and material.get("seed") == seed:
            found.append(entry)
    return found


def supersede_older_results(run_dir: Path) -> None:
    """Before the cell runs into `run_dir`, move its slot's results of an older key version to the
    sweep's `.superseded/` folder (with a warning naming them), as any run of another digest is: the
    analysis then reads the new result only, and the old run is kept."""
    for other in older_results(run_dir):
        supersede(
            other, f"a result of an older key version (this is version {KEY_VERSION}; {run_dir} reruns it)"
        )


def report_older_entries(cache_root: Path, key: str, task: str, seed: int) -> None:
    """Warn, before an intermediate encoder is trained, of cached encoders of its task and seed that an
    older key version wrote (the current key cannot be matched to them)."""
    if (cache_root / key).exists():
        return
    for entry in older_entries(cache_root, task, seed):
        log.warning(
            "cache entry %s holds an intermediate encoder of %s (seed %d) written under an older key "
            "version; key version %d cannot match it, so the encoder is trained again (delete the old "
            "entry once nothing needs it)",
            entry,
            task,
            seed,
            KEY_VERSION,
        )
