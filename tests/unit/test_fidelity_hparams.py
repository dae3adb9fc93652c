"""Hyperparameters per role and epochs (issue 13, rules 1 and 5), and the demo's own recipe.

Every one of the 46 task slots is composed as the pipeline composes it and turned into the TaskSpec
the stage trains with; its lr, dropout and batch size must equal the transcription of jiant's
transfer_analysis.sh in docs/paper_hparams.csv (not the yamls), and its epoch limit jiant's
base_roberta.conf rule.
"""

from __future__ import annotations

import csv

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from stilts.errors import ConfigError
from stilts.tasks.spec import TaskSpec
from tests.helpers import REPO, compose_cfg

# run_exp in jiant's scripts/taskmaster_v1/transfer_analysis.sh (lines 21-36): grid id -> (lr, dropout).
GRID = {
    0: (2e-5, 0.2),
    1: (2e-5, 0.1),
    2: (1e-5, 0.2),
    3: (1e-5, 0.1),
    4: (5e-6, 0.2),
    5: (5e-6, 0.1),
    6: (3e-6, 0.2),
    7: (3e-6, 0.1),
}
# jiant's base_roberta.conf: max_epochs = 10 (line 27), 40 for copa, commitbank, winograd-coreference;
# edge probing runs with base_edgeprobe.conf, which keeps defaults.conf's `max_epochs = -1` (no limit).
FORTY_EPOCHS = {"copa", "cb", "wsc"}


def paper_epochs(task: str) -> int | None:
    if task.startswith("ep_"):
        return None
    return 40 if task in FORTY_EPOCHS else 10


def paper_rows() -> list[dict[str, str]]:
    with open(REPO / "docs" / "paper_hparams.csv", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def test_the_transcription_covers_the_46_slots() -> None:
    rows = paper_rows()
    roles = [row["role"] for row in rows]
    assert (roles.count("intermediate"), roles.count("target"), roles.count("probing")) == (11, 10, 25)
    assert len({(row["task"], row["role"]) for row in rows}) == 46


def composed_specs() -> dict[tuple[str, str], TaskSpec]:
    """(task, role) -> the TaskSpec of every slot, composed as `stilts-train` would (an intermediate
    task paired with a downstream one, to compose fewer configs; every downstream task after an
    intermediate one: without it, a target is the baseline, test_fidelity_baseline.py)."""
    rows = paper_rows()
    upstream = [r["task"] for r in rows if r["role"] == "intermediate"]
    downstream = [r["task"] for r in rows if r["role"] != "intermediate"]
    specs = {}
    for k, target in enumerate(downstream):
        intermediate = upstream[k % len(upstream)]
        cfg = compose_cfg([f"task@intermediate={intermediate}", f"task@target={target}"])
        if k < len(upstream):
            specs[(intermediate, "intermediate")] = TaskSpec.from_config(cfg.intermediate, key="intermediate")
        spec = TaskSpec.from_config(cfg.target, key="target")
        specs[(target, spec.role)] = spec
    return specs


def test_every_slot_and_role_has_the_papers_lr_dropout_batch_size_and_epochs() -> None:
    specs = composed_specs()
    wrong = []
    for row in paper_rows():
        spec = specs[(row["task"], row["role"])]  # KeyError: the slot plays another role
        lr, dropout = GRID[int(row["grid_point"])]
        expected = (lr, dropout, int(row["batch_size"]), paper_epochs(row["task"]))
        got = (spec.lr, spec.dropout, spec.batch_size, spec.max_epochs)
        if got[:3] != pytest.approx(expected[:3]) or got[3] != expected[3]:
            wrong.append(f"{row['task']} as {row['role']}: {got} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_the_command_line_still_overrides_a_role_setting() -> None:
    cfg = compose_cfg(["task@target=cosmosqa", "target.dropout=0.3"])
    spec = TaskSpec.from_config(cfg.target, key="target")
    assert (spec.lr, spec.dropout) == (3e-6, 0.3)
    assert "__lr3e-06_do0.3__" in cfg.cell_name


# ----- the demo keeps the recipe it had before the paper's became the default ----------------------
def old_adamw_factor(step: int, total: int) -> float:
    """The warm-up/decay stilts used before issue 13 (models/module.py on main), transcribed."""
    warmup = int(0.1 * total)
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def test_demo_cells_keep_their_recipe() -> None:
    cfg = compose_cfg(["experiment=demo", "task@intermediate=demo_subjnum", "task@target=aj_def"])
    intermediate = TaskSpec.from_config(cfg.intermediate, key="intermediate")
    target = TaskSpec.from_config(cfg.target, key="target")
    # The demo's own recipe (conf/experiment/demo.yaml, redesigned in issue 23): lr, dropout, batch,
    # epochs; a probing task keeps the slot's 8 epochs and patience 5.
    assert (intermediate.lr, intermediate.dropout, intermediate.batch_size, intermediate.max_epochs) == (
        3e-4,
        0.1,
        32,
        6,
    )
    assert (target.lr, target.dropout, target.batch_size, target.max_epochs) == (3e-4, 0.1, 32, 8)
    assert cfg.target.patience == 5
    # Only the target demo_agree gets conf/experiment_task/demo/demo_agree.yaml: 10 epochs, no early stop.
    agree = compose_cfg(["experiment=demo", "task@intermediate=demo_subjnum", "task@target=demo_agree"])
    assert (agree.target.max_epochs, agree.target.patience, agree.intermediate.max_epochs) == (10, 10, 6)
    assert cfg.model.dropout_placement == "every_layer"
    assert cfg.optim.grad_clip == 5.0
    # The optimizer: torch AdamW, betas (0.9, 0.999), eps 1e-6 (the yaml's value, which main used),
    # weight decay 0.01 except on biases and LayerNorm weights.
    layer = nn.Sequential()
    layer.add_module("dense", nn.Linear(2, 2))
    layer.add_module("LayerNorm", nn.LayerNorm(2))
    groups = [
        {"params": [layer.dense.weight]},
        {"params": [layer.dense.bias, layer.LayerNorm.weight, layer.LayerNorm.bias], "weight_decay": 0.0},
    ]
    optimizer = instantiate(cfg.optim.optimizer)(groups, lr=target.lr)
    assert type(optimizer) is torch.optim.AdamW
    assert [(g["betas"], g["eps"], g["weight_decay"]) for g in optimizer.param_groups] == [
        ((0.9, 0.999), 1e-6, 0.01),
        ((0.9, 0.999), 1e-6, 0.0),
    ]
    assert list(cfg.optim.no_decay) == ["bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight"]
    schedule = instantiate(cfg.optim.scheduler)(optimizer, 40)
    for step in range(45):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(3e-4 * old_adamw_factor(step, 40))
        optimizer.step()
        schedule.step()


@pytest.mark.parametrize("experiment", ["paper_grid", "baselines", "hparam_sweep", "size_curve"])
def test_paper_experiments_use_the_papers_recipe(experiment: str) -> None:
    cfg = compose_cfg([f"experiment={experiment}"])
    assert cfg.optim.optimizer._target_ == "stilts.models.optim.BertAdam"
    assert cfg.optim.scheduler._target_ == "stilts.models.optim.bert_adam_schedule"
    assert list(cfg.optim.no_decay) == []
    assert cfg.model.dropout_placement == "head"


def test_a_slot_whose_role_the_task_has_no_setting_for_is_named() -> None:
    # Cosmos QA has intermediate and target settings; flagged as probing it has none for its role.
    cfg = compose_cfg(["task@target=cosmosqa", "target.probing=true"])
    expected = r"role `probing`.*conf/task/cosmosqa\.yaml.*hparams\.probing.*target\.lr="
    with pytest.raises(ConfigError, match=expected):
        TaskSpec.from_config(cfg.target, key="target")
