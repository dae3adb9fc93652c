"""The baseline's hyperparameters (issue 24, item 4).

jiant ran a target task without an intermediate task through `ez_first_target_exp`
(scripts/taskmaster_v1/transfer_analysis.sh:378-381), which reads INTERM_HPARAM / INTERM_BSIZE, not
TARGET_*: the table's "Target" section repeats the target points for the eight SuperGLUE tasks, and
the two tasks with both roles keep their intermediate point (Cosmos QA 6, not 7; CommonsenseQA 6 in
both). Checked against the transcription in docs/paper_hparams.csv, not the task yamls.
"""

from __future__ import annotations

import pytest

from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg
from tests.unit.test_fidelity_hparams import GRID, paper_rows


def expected_baseline(task: str) -> tuple[float, float, int]:
    """(lr, dropout, batch size) jiant's baseline run of `task` used: its intermediate row when the
    csv has one, else its target row (INTERM's "Target" section equals TARGET for those)."""
    rows = {(r["task"], r["role"]): r for r in paper_rows()}
    row = rows.get((task, "intermediate")) or rows[(task, "target")]
    return (*GRID[int(row["grid_point"])], int(row["batch_size"]))


TARGETS = [r["task"] for r in paper_rows() if r["role"] == "target"]


@pytest.mark.parametrize("experiment", ["baselines", "paper_grid"])
@pytest.mark.parametrize("task", TARGETS)
def test_a_target_without_intermediate_task_takes_jiants_baseline_point(experiment: str, task: str) -> None:
    cfg = compose_cfg([f"experiment={experiment}", "task@intermediate=none", f"task@target={task}"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    assert (spec.lr, spec.dropout, spec.batch_size) == pytest.approx(expected_baseline(task))


def test_cosmosqa_baseline_drops_at_0_2_and_after_an_intermediate_task_at_0_1() -> None:
    baseline = compose_cfg(["experiment=baselines", "task@target=cosmosqa"])
    stilts = compose_cfg(["experiment=paper_grid", "task@intermediate=mnli", "task@target=cosmosqa"])
    assert TaskSpec.from_config(baseline.target, key="target").dropout == 0.2  # point 6
    assert TaskSpec.from_config(stilts.target, key="target").dropout == 0.1  # point 7
    assert "_do0.2__" in baseline.cell_name
    # The command line still overrides it.
    override = compose_cfg(["task@target=cosmosqa", "target.dropout=0.1"])
    assert TaskSpec.from_config(override.target, key="target").dropout == 0.1


def test_a_selected_point_still_comes_first_for_the_baseline() -> None:
    """stilts-select-hparams picks from sweep runs trained as baselines (no intermediate task)."""
    cfg = compose_cfg(["task@target=cosmosqa", "+selected_hparams.cosmosqa.target.dropout=0.3"])
    assert TaskSpec.from_config(cfg.target, key="target").dropout == 0.3
