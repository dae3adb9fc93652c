"""Bad task data through `stilts-data`: a missing split exits with status 2 and its path; `--help`
lists the tasks. (Readers: tests/unit/test_bad_input_data.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    FIXTURES,
    REPO,
    cli,
    offline_env,
)


def copy_task(tmp_path: Path, task: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / task, data / task)
    return data


# fmt: on


# fmt: on


# fmt: on


def run_data(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli("data"), *args], capture_output=True, text=True, env=offline_env(), cwd=REPO)


def test_stilts_data_exits_2_when_a_needed_split_is_missing(tmp_path) -> None:
    data = copy_task(tmp_path, "cb")
    (data / "cb" / "val.jsonl").unlink()
    done = run_data("task=cb", f"paths.data_dir={data}", f"paths.cache_dir={tmp_path / 'cache'}")
    assert done.returncode == 2, done.stderr
    assert "train: 24 examples" in done.stdout and "val: PROBLEM" in done.stdout
    assert f"no file at {data / 'cb' / 'val.jsonl'}" in done.stderr
    assert "a run would fail on this data" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("module", ["data", "train"])
def test_help_lists_tasks_but_no_defaults_file(module) -> None:
    done = subprocess.run(
        [*cli(module), "--help"], capture_output=True, text=True, env=offline_env(), cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "_defaults" not in done.stdout  # the defaults files are no task choice
    tasks = next(line for line in done.stdout.splitlines() if line.strip().startswith(("task:", "target:")))
    assert ("boolq" in tasks and "wsc" in tasks) if module == "train" else "every other task yaml" in tasks
