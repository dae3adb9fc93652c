"""Bad configuration through the command line: `stilts-train` names an output dir that is a file, and
`stilts-plan --help` explains itself. (In process: tests/unit and tests/integration test_bad_config.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import REPO, cli, offline_env, tiny_overrides


def test_output_dir_that_is_a_file_is_named_by_the_cli(tmp_path: Path) -> None:
    blocker = tmp_path / "outfile"
    blocker.write_text("keep me")
    settings = [*tiny_overrides(tmp_path), f"paths.output_dir={blocker}", "+trainer.max_steps=1"]
    done = subprocess.run(
        cli("train", *settings), cwd=REPO, env=offline_env(), capture_output=True, text=True
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2
    assert "`paths.output_dir` is" in said and "which is a file" in said
    assert "Traceback" not in said and blocker.read_text() == "keep me"


def test_plan_help_explains_itself() -> None:
    done = subprocess.run(cli("plan", "--help"), cwd=REPO, env=offline_env(), capture_output=True, text=True)
    assert done.returncode == 0 and "stilts-plan experiment=paper_grid" in done.stdout
