"""Adding a task without touching the package (docs/adding_a_task.md): `stilts-train` run from
the task's own folder finds it through Hydra's search path. (In process:
tests/integration/test_external_task.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import REPO, cli, offline_env
from tests.integration.test_external_task import external, overrides  # noqa: F401 - a fixture


def test_the_cli_finds_an_outside_task(tmp_path: Path, external: Path) -> None:  # noqa: F811 - the fixture
    env = {**offline_env(), "PYTHONPATH": f"{external}:{REPO}"}
    command = cli("train", *overrides(tmp_path, external, "task@target=claims"))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "runs").glob("none__claims__*/result.json"))
