"""Per-task settings of an experiment (conf/experiment_task/<experiment>/<task>.yaml) reach the
slot that holds the task, in either role, and nothing else. (The real_mini study's grid from `stilts-plan`:
tests/e2e/test_experiment_task.py.)"""

from __future__ import annotations

from tests.helpers import compose_cfg


def test_a_studys_task_settings_follow_the_task_into_its_slot() -> None:
    cfg = compose_cfg(["experiment=real_mini", "task@intermediate=cosmosqa", "task@target=cb"])
    assert cfg.intermediate.train_size == 600
    assert dict(cfg.intermediate.local.resplit) == {"source": "val", "val_fraction": 0.2, "seed": 0}
    assert cfg.target.max_epochs == 10 and cfg.target.train_size is None
    swapped = compose_cfg(["experiment=real_mini", "task@intermediate=sst2", "task@target=rte"])
    assert swapped.intermediate.train_size == 8000 and swapped.target.max_epochs == 2


def test_without_the_experiment_the_task_keeps_its_own_settings() -> None:
    cfg = compose_cfg(["task@intermediate=cosmosqa", "task@target=cb"])
    assert cfg.intermediate.train_size is None and "resplit" not in cfg.intermediate.local
    assert cfg.target.max_epochs == 40  # the paper's CB setting


def test_the_command_line_still_wins_over_a_studys_task_setting() -> None:
    cfg = compose_cfg(["experiment=real_mini", "task@intermediate=sst2", "intermediate.train_size=100"])
    assert cfg.intermediate.train_size == 100
