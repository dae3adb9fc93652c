"""`stilts-train` names a misspelt head argument without a traceback. (The schema itself:
tests/unit/test_config_schema.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import REPO, cli, offline_env, tiny_overrides
from tests.integration.test_config_schema import typo_task

# (the line of rte.yaml replaced, its misspelt version, what the error must name)


def test_the_cli_names_the_misspelt_head_argument_without_a_traceback(tmp_path: Path) -> None:
    folder = typo_task(tmp_path, "head")
    settings = [*tiny_overrides(tmp_path), f"hydra.searchpath=[file://{folder}]", "task@target=rte_typo"]
    done = subprocess.run(
        cli("train", *settings), cwd=REPO, env=offline_env(), capture_output=True, text=True
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said[-2000:]
    assert "`target.head.dropuot`" in said and "Traceback" not in said
