"""Content-addressed cache of intermediate-task encoders.

An entry is a folder `<root>/<key>/` holding `encoder.safetensors` (encoder weights only) and
`meta.json` (what the key was made of, and the intermediate run's scores). An entry is trained at
most once: concurrent jobs wait on a file lock, and the entry is published by an atomic rename of a
temporary folder, so a crashed job leaves no half-written entry behind (its temporary folder is
removed by the next job that takes the lock).

A read-only cache (e.g. a shared one on a cluster, `<paths.cache_dir>/intermediate` made read-only
or linked to a read-only folder) serves the sound entries it holds without writing anything (no
lock is taken for a hit). Only when it would have to write (an entry to train, a damaged entry to
move aside) does it say so, with a CacheReadOnlyError naming the folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from stilts.errors import ConfigError, StiltsError

log = logging.getLogger(__name__)
WEIGHTS = "encoder.safetensors"
META = "meta.json"
DAMAGED = ".damaged"
RANK_ZERO_WAIT_S = 1800  # how long other DDP ranks wait for rank zero to publish an entry


class CacheReadOnlyError(StiltsError):
    """The cache would have to write (train or heal an entry) but its folder is read-only."""


def cache_key(material: dict[str, Any]) -> str:
    """The key of an entry: a hash of everything that determines the trained encoder."""
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    """The file's sha256, memoised per (path, size, mtime): a cell hashes the same encoder weights
    and data files several times (cache key, cell digest, integrity check)."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry_problem(entry: Path) -> str | None:
    """What is wrong with a published cache entry folder, or None when it is sound."""
    if not entry.is_dir():
        return "not a folder"
    if not (entry / META).is_file():
        return f"no {META}"
    if not (entry / WEIGHTS).is_file():
        return f"no {WEIGHTS}"
    try:
        meta = json.loads((entry / META).read_text())
    except (OSError, ValueError) as err:
        return f"{META} does not parse ({err})"
    if not isinstance(meta, dict) or "sha256" not in meta:
        return f"{META} lacks the weights' sha256"
    if file_sha256(entry / WEIGHTS) != meta["sha256"]:
        return f"{WEIGHTS} does not match the sha256 in {META}"
    return None


@dataclass(frozen=True)
class CacheEntry:
    """A published encoder: its folder, whether this call trained it, and its metadata."""

    path: Path
    trained_now: bool
    meta: dict[str, Any]

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS


class EncoderCache:
    """The cache under `root` (by default `${paths.cache_dir}/intermediate`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.is_dir():  # an existing cache may be read-only: it is only read until a write is due
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"cannot create the encoder cache folder {self.root} ({err.strerror}); "
                "set `paths.cache_dir` to a writable folder"
            ) from err

    def _writable(self, what: str) -> None:
        """Raise CacheReadOnlyError, saying `what` needs writing, when the cache folder is read-only."""
        if not os.access(self.root, os.W_OK):
            raise CacheReadOnlyError(
                f"the encoder cache {self.root} is read-only, and {what}; train it where the cache is "
                "writable (or point `paths.cache_dir` at a writable folder), then relaunch"
            )

    def _published(self, key: str) -> CacheEntry | None:
        """The sound entry of `key`, or None. An entry that is incomplete (no metadata or weights),
        unreadable, or whose weights do not match their recorded hash is reported with its path and
        moved to `<root>/.damaged/`, so the caller trains it again once instead of failing forever."""
        entry = self.root / key
        if not entry.exists():
            return None
        problem = entry_problem(entry)
        if problem is None:
            return CacheEntry(entry, False, json.loads((entry / META).read_text()))
        self._writable(f"its entry {entry} is damaged ({problem}) and would have to be moved aside")
        damaged = self.root / DAMAGED / f"{key}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        damaged.parent.mkdir(exist_ok=True)
        os.replace(entry, damaged)
        log.warning("cache entry %s is damaged (%s); moved to %s to train again", entry, problem, damaged)
        return None

    def get_or_train(
        self, material: dict[str, Any], train: Callable[[Path], dict[str, Any]], publish: bool = True
    ) -> CacheEntry:
        """Return the entry for `material`, calling `train(folder)` only when it does not exist yet.

        `train` must write `encoder.safetensors` into the folder it is given and return the metadata
        (e.g. the intermediate scores) to store beside it. Under DDP every rank calls this; only
        rank zero (`publish=True`) takes the lock and publishes, the other ranks train alongside it
        (DDP needs them all) and then wait for rank zero's entry.
        """
        key = cache_key(material)
        found = self._published(key)
        if found is not None:
            log.info("intermediate encoder cache hit: %s", found.path)
            return found
        self._writable(f"it holds no entry {key} for this intermediate training")
        if not publish:
            return self._train_with_rank_zero(key, train)
        with FileLock(str(self.root / f"{key}.lock")):
            found = self._published(key)  # another job may have finished it while we waited
            if found is not None:
                log.info("intermediate encoder cache hit after waiting: %s", found.path)
                return found
            for stale in self.root.glob(f".{key}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = self.root / f".{key}.tmp-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                meta = train(tmp)
                if not (tmp / WEIGHTS).is_file():
                    raise RuntimeError(f"the intermediate stage wrote no {WEIGHTS}")
                meta = {"key": key, "material": material, "sha256": file_sha256(tmp / WEIGHTS), **meta}
                (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
                os.replace(tmp, self.root / key)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        log.info("intermediate encoder trained and cached: %s", self.root / key)
        return CacheEntry(self.root / key, True, meta)

    def _train_with_rank_zero(self, key: str, train: Callable[[Path], dict[str, Any]]) -> CacheEntry:
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.rank-", dir=self.root))
        try:
            train(scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        deadline = time.monotonic() + RANK_ZERO_WAIT_S
        while time.monotonic() < deadline:
            found = self._published(key)
            if found is not None:
                return found
            time.sleep(1.0)
        raise TimeoutError(f"rank zero did not publish {self.root / key} within {RANK_ZERO_WAIT_S} s")
