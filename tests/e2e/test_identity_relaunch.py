"""A finished sweep relaunched from another copy of stilts (issue 21): a second checkout, or a wheel
installed elsewhere, resolves `model=tiny` to another absolute path, yet finds every cell finished and
every intermediate encoder cached, because identities hash content, not locations. (Work of an older key
version: tests/integration/test_identity_relaunch.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_install import install_wheel
from tests.helpers import FIXTURES, REPO

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}
# Relative paths only: the sweep, its cache and its data travel with the folder they are launched in.
ARGUMENTS = [
    "model=tiny",
    "schedule=epochs",
    "trainer=cpu",
    "logger=none",
    "paths.data_dir=data",
    "+trainer.max_steps=2",
    "+trainer.enable_progress_bar=false",
    "sweep_name=copied",
    "task@intermediate=none,cb",
    "task@target=rte",
]


def run(python: str | Path, folder: Path, module: str, *args: str, pythonpath: Path | None = None) -> str:
    """Run a stilts console script with `python` in `folder`; its stilts comes from `pythonpath` (a
    checkout) or, without one, from the interpreter's own installation."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | OFFLINE
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [str(python), "-m", f"stilts.{module}", *args], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def checkout(folder: Path) -> Path:
    """A copy of the repository's package with the fixture data the sweep reads."""
    shutil.copytree(REPO / "stilts", folder / "stilts", ignore=shutil.ignore_patterns("__pycache__"))
    for task in ("rte", "cb"):
        shutil.copytree(FIXTURES / task, folder / "data" / task)
    return folder


def outputs(folder: Path) -> dict[Path, int]:
    """Every result and cached encoder under `folder`, with its modification time."""
    found = [*folder.glob("multirun/copied/*/result.json"), *folder.glob(".stilts_cache/intermediate/*/*")]
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in found}


def finished_sweep(tmp_path: Path) -> dict[Path, int]:
    first = checkout(tmp_path / "first")
    run(sys.executable, first, "train", "-m", *ARGUMENTS, pythonpath=first)
    done = outputs(first)
    assert len([p for p in done if p.name == "result.json"]) == 2
    assert len([p for p in done if p.name == "encoder.safetensors"]) == 1
    return done


def assert_found_finished(python: str | Path, folder: Path, before: dict, pythonpath: Path | None) -> None:
    planned = run(python, folder, "plan", *ARGUMENTS, pythonpath=pythonpath)
    assert "1 intermediate trainings (0 still needed" in planned, planned
    assert "2 downstream runs: 2 finished" in planned, planned
    trained = run(python, folder, "train", "-m", *ARGUMENTS, pythonpath=pythonpath)
    assert "0 done, 2 skipped" in trained, trained[-3000:]
    assert outputs(folder) == before  # no cell rerun, no encoder retrained, nothing new


@pytest.mark.slow
def test_a_second_checkout_finds_the_sweep_finished(tmp_path: Path) -> None:
    before = finished_sweep(tmp_path)
    second = tmp_path / "second"
    shutil.copytree(tmp_path / "first", second)
    assert_found_finished(sys.executable, second, before, pythonpath=second)


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_finds_the_sweep_finished(tmp_path: Path) -> None:
    before = finished_sweep(tmp_path)
    env_dir, _ = install_wheel(tmp_path / "install")
    work = tmp_path / "work"
    shutil.copytree(tmp_path / "first", work, ignore=shutil.ignore_patterns("stilts"))
    assert_found_finished(env_dir / "bin" / "python", work, before, pythonpath=None)
