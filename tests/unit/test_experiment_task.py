"""Per-task settings of an experiment (conf/experiment_task/<experiment>/<task>.yaml) reach the
slot that holds the task, in either role, and nothing else. (The real_mini study's grid from `stilts-plan`:
tests/e2e/test_experiment_task.py.)"""

from __future__ import annotations

import yaml

from stilts.config import CONF_DIR
from tests.helpers import compose_cfg


def study_setting(task: str) -> dict:
    """The per-task file as written, read without Hydra."""
    return yaml.safe_load((CONF_DIR / "experiment_task" / "real_mini" / f"{task}.yaml").read_text())


def test_a_studys_task_settings_follow_the_task_into_its_slot() -> None:
    cfg = compose_cfg(["experiment=real_mini", "task@intermediate=cosmosqa", "task@target=cb"])
    assert cfg.intermediate.train_size == study_setting("cosmosqa")["train_size"]
    assert dict(cfg.intermediate.local.resplit) == {"source": "val", "val_fraction": 0.2, "seed": 0}
    assert cfg.target.max_epochs == study_setting("cb")["max_epochs"] and cfg.target.train_size is None
    swapped = compose_cfg(["experiment=real_mini", "task@intermediate=sst2", "task@target=rte"])
    assert swapped.intermediate.train_size == study_setting("sst2")["train_size"]
    assert swapped.target.train_size == study_setting("rte")["train_size"]
    assert swapped.target.max_epochs == 2  # the experiment's own target setting: rte.yaml sets none
    assert "max_epochs" not in study_setting("rte")


def test_without_the_experiment_the_task_keeps_its_own_settings() -> None:
    cfg = compose_cfg(["task@intermediate=cosmosqa", "task@target=cb"])
    assert cfg.intermediate.train_size is None and "resplit" not in cfg.intermediate.local
    assert cfg.target.max_epochs == 40  # the paper's CB setting


def test_the_command_line_still_wins_over_a_studys_task_setting() -> None:
    cfg = compose_cfg(["experiment=real_mini", "task@intermediate=sst2", "intermediate.train_size=100"])
    assert cfg.intermediate.train_size == 100
