"""Output faults through the command line, never a traceback: a sweep name that would leave the output
folder, a run dir or a sweep dir stilts cannot write to, each named."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, cli, offline_env, tiny_overrides

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
