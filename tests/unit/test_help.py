"""`stilts-plan` reads stilts-train's command line in process: `--config-dir` puts a folder on the
search path. (Each entry point's `--help` and `stilts-plan -m` as commands: tests/e2e/test_help.py.)"""

from __future__ import annotations

from pathlib import Path

from stilts.plan import parse_arguments, plan, summary


def test_plan_config_dir_puts_a_folder_on_the_search_path(tmp_path: Path) -> None:
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    study = "# @package _global_\nhydra:\n  sweeper:\n    params:\n      restart: 0,1\n"
    (tmp_path / "conf" / "experiment" / "mine.yaml").write_text(study)
    argv = ["--config-dir", str(tmp_path / "conf"), "experiment=mine", f"paths.output_dir={tmp_path}"]
    overrides, detailed, wants_help = parse_arguments(argv)
    assert not detailed and not wants_help
    assert "2 downstream runs" in summary(plan(overrides))
