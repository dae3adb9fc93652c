"""Output faults in process, never a traceback: a full disk while a record is written names the path;
a read-only encoder cache serves the entries it holds. (Cells: tests/integration; the command line:
tests/e2e/test_output_faults.py.)"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from stilts.cache import CacheReadOnlyError, EncoderCache
from stilts.errors import StorageError
from stilts.result import record_failure
from stilts.runs import write_atomic
from tests.helpers import compose_cfg, tiny_overrides

ROOT = os.geteuid() == 0  # root writes into read-only folders: the cache's check is emulated for it


def test_a_full_disk_while_a_record_is_written_names_the_path(tmp_path, monkeypatch, caplog) -> None:
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=rte"])

    def full_disk(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(StorageError, match=r"cannot write .*summary.json \(No space left on device\)"):
        write_atomic(tmp_path / "summary.json", "{}")
    assert list(tmp_path.iterdir()) == []
    # A failure that cannot even be recorded is logged with the path; the sweep goes on.
    with caplog.at_level(logging.ERROR):
        record_failure(tmp_path / "cell", cfg, RuntimeError("boom"))
    assert f"cannot record the failure in {tmp_path / 'cell' / 'result.json'}" in caplog.text
    assert "No space left on device" in caplog.text


def make_read_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take write permission away from the cache folder and its entries (root ignores the bits, so for
    root the cache's writability check is made to read them, as a read-only mount would answer)."""
    for folder in [root, *root.iterdir()]:
        folder.chmod(0o555)
    if ROOT:
        real = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda p, mode: real(p, mode) and not (mode & os.W_OK and not os.stat(p).st_mode & 0o222),
        )


def listing(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_a_read_only_cache_serves_the_entries_it_holds(tmp_path, monkeypatch) -> None:
    cache = EncoderCache(tmp_path / "intermediate")
    weights = {"w": torch.arange(4.0)}
    entry = cache.get_or_train(
        {"task": "cb"}, lambda folder: save_file(weights, str(folder / "encoder.safetensors")) or {}
    )
    make_read_only(cache.root, monkeypatch)
    before = listing(cache.root)

    def must_not_train(folder: Path) -> dict:
        raise AssertionError("a cache hit must not train")

    try:
        served = EncoderCache(cache.root).get_or_train({"task": "cb"}, must_not_train)
        assert served.path == entry.path and not served.trained_now
        assert listing(cache.root) == before  # no lock, no temporary folder: nothing written
        with pytest.raises(
            CacheReadOnlyError, match=f"the encoder cache {cache.root} is read-only, and it holds no entry"
        ):
            cache.get_or_train({"task": "rte"}, must_not_train)
        (entry.path / "meta.json").chmod(0o644)
        (entry.path / "meta.json").write_text("{}")  # damaged: healing it would need a write
        with pytest.raises(CacheReadOnlyError, match=r"its entry .* is damaged .* moved aside"):
            cache.get_or_train({"task": "cb"}, must_not_train)
    finally:
        for folder in [cache.root, *cache.root.iterdir()]:
            folder.chmod(stat.S_IRWXU)
