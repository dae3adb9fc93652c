"""Adding a task without touching the package (docs/adding_a_task.md): `stilts-train` run from
the task's own folder finds it through Hydra's search path. (In process:
tests/integration/test_external_task.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, cli, offline_env, tiny_overrides

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "external_task"


@pytest.fixture
def external(tmp_path: Path) -> Path:
    """The user's folder (a yaml per task, one module, their data), copied outside the repository."""
    shutil.copytree(FIXTURE, tmp_path / "my_tasks")
    return tmp_path / "my_tasks"


def overrides(tmp_path: Path, folder: Path, *cell: str) -> list[str]:
    return [
        *tiny_overrides(tmp_path, folder / "data"),
        f"hydra.searchpath=[file://{folder / 'conf'}]",
        "+trainer.max_steps=4",
        *cell,
    ]


def test_the_cli_finds_an_outside_task(tmp_path: Path, external: Path) -> None:
    env = {**offline_env(), "PYTHONPATH": f"{external}:{REPO}"}
    command = cli("train", *overrides(tmp_path, external, "task@target=claims"))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "runs").glob("none__claims__*/result.json"))
