"""Every task yaml composes in both slots, reads its native-format fixture and trains a step."""

from __future__ import annotations

import pytest

from stilts.tasks.spec import TaskSpec, known_tasks
from tests.helpers import FIXTURES, compose_cfg, train_steps

TASKS_WITH_FIXTURES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
# The paper's score per task as the project specifies it, written out by hand (not read from the task yamls):
# the mean of these metrics. Accuracy for every task not listed.
PAPER_SCORE: dict[str, tuple[str, ...]] = {
    "cb": ("f1_macro",),
    "aj_cola": ("mcc",),
    "multirc": ("f1a", "em"),
    **{task: ("acc", "f1") for task in ("boolq", "qqp", "aj_wh", "aj_def", "aj_coord", "aj_eos")},
    **{task: ("f1", "em") for task in ("record", "qamr", "qasrl")},
    **{f"ep_{t}": ("f1",) for t in "pos ner srl coref const spr1 spr2 dpr rel ud".split()},
}


@pytest.mark.parametrize("task", known_tasks())
def test_yaml_composes_in_both_slots(task: str) -> None:
    cfg = compose_cfg([f"task@intermediate={task}", f"task@target={task}", "model=tiny"])
    for slot in ("intermediate", "target"):
        spec = TaskSpec.from_config(cfg[slot], key=slot)
        assert spec.name == task
        assert spec.lr > 0 and 0 <= spec.dropout < 1 and spec.batch_size > 0


def test_every_task_has_a_fixture() -> None:
    assert set(known_tasks()) <= set(TASKS_WITH_FIXTURES)


@pytest.mark.parametrize("task", known_tasks())
def test_task_trains_a_step_and_reports_its_score(tmp_path, task: str) -> None:
    result = train_steps(tmp_path, task, steps=2)
    assert result["task"] == task
    assert result["steps"] == 2
    names = PAPER_SCORE.get(task, ("acc",))
    assert tuple(result["main_metric"]) == names
    expected = sum(result["metrics"][m] for m in names) / len(names)
    assert result["main"] == pytest.approx(expected)
    assert result["val_examples"] > 0
