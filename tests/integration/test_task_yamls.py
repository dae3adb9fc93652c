"""One representative task per family and featurizer x head (tests.helpers.REPRESENTATIVE_TASKS)
trains two steps in a tiny cell and reports the paper's score. Every yaml composing and instantiating
without training: tests/unit/test_task_yamls.py."""

from __future__ import annotations

import pytest

from tests.helpers import REPRESENTATIVE_TASKS, train_steps


@pytest.mark.parametrize("task", REPRESENTATIVE_TASKS)
def test_task_trains_a_step_and_reports_its_score(tmp_path, task: str) -> None:
    result = train_steps(tmp_path, task, steps=2)
    assert result["task"] == task
    assert result["steps"] == 2
    names = result["main_metric"]  # the paper's metrics per task: tests/unit/test_task_yamls.py
    expected = sum(result["metrics"][m] for m in names) / len(names)
    assert result["main"] == pytest.approx(expected)
    assert result["val_examples"] > 0
