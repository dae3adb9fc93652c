"""`stilts-plan` lists the real_mini study's grid. (Per-task settings of an experiment:
tests/unit/test_experiment_task.py.)"""

from __future__ import annotations

import subprocess

from tests.helpers import cli, offline_env


def test_stilts_plan_lists_the_real_mini_study(tmp_path) -> None:
    done = subprocess.run(
        cli("plan", "experiment=real_mini", f"paths.output_dir={tmp_path}", f"paths.cache_dir={tmp_path}"),
        capture_output=True, text=True, env=offline_env(), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "12 intermediate trainings" in done.stdout
    assert "120 downstream runs: 0 finished, 0 failed, 120 to run" in done.stdout
