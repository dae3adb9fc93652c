"""Output faults end in a clear message naming the path or key, never a traceback: names that would
leave their folder, run dirs stilts cannot write to, a full disk while an encoder is written; and a
read-only encoder cache serves the entries it holds, saying so only when it would have to write."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

import stilts.runs
from stilts.cache import CacheReadOnlyError, EncoderCache
from stilts.errors import ConfigError, StorageError
from stilts.pipeline import run_cell
from stilts.result import record_failure
from stilts.runs import write_atomic
from tests.helpers import REPO, cli, compose_cfg, offline_env, run_tiny_cell, tiny_overrides

ROOT = os.geteuid() == 0  # root writes into read-only folders: the cache's check is emulated for it


def train_cli(tmp_path: Path, *overrides: str, multirun: bool = False) -> str:
    """Run `stilts-train`, expecting it to refuse the command with status 2; return its output."""
    flags = ["-m"] if multirun else []
    command = cli(
        "train", *flags, *tiny_overrides(tmp_path), "task@target=rte", "+trainer.max_steps=1", *overrides
    )
    done = subprocess.run(command, cwd=REPO, env=offline_env(), capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in output, output[-3000:]
    return output


def test_a_sweep_name_that_leaves_the_output_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    output = train_cli(tmp_path, f"paths.output_dir={out}", "sweep_name=../../..", multirun=True)
    assert "`sweep_name` is '../../..', which is not a plain folder name" in output
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b"]  # nothing was written beside out/


def test_a_task_name_that_is_a_path_is_refused_before_any_work(tmp_path: Path) -> None:
    cfg = compose_cfg([*tiny_overrides(tmp_path), "task@target=rte", "target.name=../../rte"])
    with pytest.raises(ConfigError, match="`target.name` is '../../rte', which is not a plain folder name"):
        run_cell(cfg, tmp_path / "run")
    assert not (tmp_path / "cache").exists()


def test_a_run_dir_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the run dir's parent should be")
    output = train_cli(tmp_path, f"hydra.run.dir={blocker / 'run'}")
    assert f"`hydra.run.dir` is {blocker / 'run'}, which stilts cannot write to (Not a directory)" in output


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_a_read_only_sweep_dir_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    output = train_cli(tmp_path, f"hydra.sweep.dir={locked / 'sweep'}", multirun=True)
    assert f"`hydra.sweep.dir` is {locked / 'sweep'}, which stilts cannot write to" in output


def test_a_full_disk_while_the_intermediate_encoder_is_written_names_the_path(tmp_path, monkeypatch) -> None:
    def full_disk(tensors: dict, filename: str) -> None:  # what safetensors raises on ENOSPC
        raise SafetensorError(
            "Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
            'message: "No space left on device" })'
        )

    monkeypatch.setattr(stilts.runs, "save_file", full_disk)
    with pytest.raises(
        StorageError, match=r"cannot write .*/intermediate/\.\w+\.tmp-\w+/encoder\.safetensors"
    ):
        run_tiny_cell(tmp_path, ["task@intermediate=cb", "+trainer.max_steps=1", "task@target=rte"])
    root = tmp_path / "cache" / "intermediate"
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == []  # nothing half-published


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


def test_a_cell_runs_from_a_read_only_cache_that_holds_its_encoder(tmp_path, monkeypatch) -> None:
    intermediate = ["task@intermediate=cb", "+trainer.max_steps=1"]
    first = run_tiny_cell(tmp_path, [*intermediate, "task@target=rte"], run_name="first")
    assert first["encoder_source"]["trained_now"] is True
    root = tmp_path / "cache" / "intermediate"
    make_read_only(root, monkeypatch)
    try:
        second = run_tiny_cell(tmp_path, [*intermediate, "task@target=cb"], run_name="second")
    finally:
        for folder in [root, *root.iterdir()]:
            folder.chmod(stat.S_IRWXU)
    assert second["status"] == "finished" and second["encoder_source"]["trained_now"] is False
    assert second["encoder_source"]["cache_key"] == first["encoder_source"]["cache_key"]
