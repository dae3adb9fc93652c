"""The paper's validation schedule and run length (issue 13, rule 4) and edge probing's optimisation
(rule 6), observed on the planned step and validation counts against a step-by-step simulation of
jiant's trainer loop written here, and on each stage's optimiser. (Real cells:
tests/integration/test_fidelity_schedule.py.)"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from stilts.cell import resolve_cell
from stilts.models.module import TransferModule
from stilts.schedule import stage_schedule
from stilts.tasks.spec import TaskSpec
from tests.helpers import compose_cfg

# Training set sizes (SuperGLUE / GLUE train splits).
WIC_TRAIN, COPA_TRAIN, SST2_TRAIN = 5428, 400, 67349


def jiant_loop(
    batches_per_epoch: int,
    max_epochs: int | None,
    val_interval: int,
    max_vals: int,
    patience: int = 20,
    score: float | None = None,
) -> tuple[int, int]:
    """(steps, validations) of jiant's `SamplingMultiTaskTrainer.train` for one task, stepped one batch
    at a time: validate when the step is a multiple of val_interval; there, stop when the epochs
    trained reach max_epochs, when the best score is patience + 1 validations old (`_check_history`;
    every validation scores `score`, or better than the one before when it is None), or after
    max_vals validations."""
    step, history = 0, []
    while True:
        step += 1
        if step % val_interval:
            continue
        history.append(float(len(history)) if score is None else score)
        out_of_epochs = max_epochs is not None and step / batches_per_epoch >= max_epochs
        best = history.index(max(history))
        out_of_patience = best <= len(history) - (patience + 2)
        if out_of_epochs or out_of_patience or len(history) >= max_vals:
            return step, len(history)


def spec_of(overrides: list[str], slot: str = "target") -> TaskSpec:
    cfg = compose_cfg(overrides)
    return TaskSpec.from_config(cfg[slot], key=slot)


@pytest.mark.parametrize(
    ("overrides", "slot", "train_size", "expected"),
    [
        # The figures (from jiant's code): WiC 2,000 steps / 2 validations, COPA 600 / 6.
        (["task@target=wic"], "target", WIC_TRAIN, (2000, 2)),
        (["task@target=copa"], "target", COPA_TRAIN, (600, 6)),
        # SST-2 as an intermediate task: batch 64, 5,000-step validations -> 15,000 steps.
        (["task@intermediate=sst2"], "intermediate", SST2_TRAIN, (15000, 3)),
        # Edge probing has no epoch limit: 250 validations of 1,000 steps, or 100 of 100 (small tasks).
        (["task@target=ep_ner"], "target", 100_000, (250_000, 250)),
        (["task@target=ep_spr1"], "target", 3_000, (10_000, 100)),
    ],
)
def test_run_length_and_validations_equal_jiants_loop(
    overrides: list[str], slot: str, train_size: int, expected: tuple[int, int]
) -> None:
    spec = spec_of(overrides, slot)
    batches = math.ceil(train_size / spec.batch_size)
    schedule = stage_schedule("jiant", spec, batches)
    simulated = jiant_loop(batches, spec.max_epochs, spec.val_interval, spec.max_vals)
    assert simulated == expected
    assert (schedule.max_steps, schedule.max_validations) == expected
    assert schedule.total_steps == schedule.max_steps  # jiant's t_total (trainer.py:501-514)


def test_intermediate_stages_validate_every_5000_steps_whatever_the_task_says() -> None:
    # CommonsenseQA validates every 2,500 steps as a target (base_roberta.conf), every 5,000 as an
    # intermediate task (jiant's pretrain phase ignores task settings, trainer.py:45-50).
    cfg = compose_cfg(["task@intermediate=commonsenseqa", "task@target=commonsenseqa"])
    intermediate = TaskSpec.from_config(cfg.intermediate, key="intermediate")
    target = TaskSpec.from_config(cfg.target, key="target")
    assert (intermediate.val_interval, intermediate.max_epochs, intermediate.max_vals) == (5000, 10, 10000)
    assert (target.val_interval, target.max_epochs, target.max_vals) == (2500, 10, 1000)
    # The command line still wins.
    cfg = compose_cfg(["task@intermediate=commonsenseqa", "intermediate.val_interval=700"])
    assert cfg.intermediate.val_interval == 700


def test_edge_probing_trains_with_amsgrad_adam_at_a_constant_rate_whatever_the_runs_optim() -> None:
    for overrides in (["task@target=ep_ner"], ["task@target=ep_ner", "optim=adamw"]):
        stage = resolve_cell(compose_cfg(overrides)).downstream
        spec, optim = stage.spec, stage.optim
        from hydra.utils import instantiate

        layer = nn.Linear(3, 2)
        module = TransferModule(
            layer,
            nn.Identity(),
            {},
            ["f1"],
            lr=spec.lr,
            optimizer=instantiate(optim.optimizer),
            scheduler=instantiate(optim.scheduler),
            no_decay=list(optim.no_decay),
            total_steps=1000,
        )
        configured = module.configure_optimizers()
        optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
        assert type(optimizer) is torch.optim.Adam
        assert [g["amsgrad"] for g in optimizer.param_groups] == [True]
        assert [g["weight_decay"] for g in optimizer.param_groups] == [0.0]
        rates = []
        for _ in range(5):
            layer.weight.grad = torch.ones_like(layer.weight)
            layer.bias.grad = torch.ones_like(layer.bias)
            optimizer.step()
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
        assert rates == [spec.lr] * 5  # no warm-up, no decay
        assert float(optim.grad_clip) == 5.0


def test_other_tasks_keep_the_runs_optim() -> None:
    cfg = compose_cfg(["task@target=rte"])
    assert resolve_cell(cfg).downstream.optim is cfg.optim


def test_the_epochs_schedule_keeps_stilts_earlier_rule() -> None:
    spec = spec_of(["task@target=copa"])
    schedule = stage_schedule("epochs", spec, steps_per_epoch=13)
    # At least one validation an epoch, the task's epochs, Lightning's own step estimate and patience.
    assert (schedule.val_interval, schedule.max_epochs, schedule.max_steps, schedule.total_steps) == (
        13,
        40,
        None,
        None,
    )
    assert schedule.early_stop_patience == spec.patience


def test_the_demo_states_its_own_schedule_and_paper_experiments_take_jiants() -> None:
    assert compose_cfg(["experiment=demo"]).schedule.style == "epochs"
    assert compose_cfg(["experiment=demo_selection"]).schedule.style == "epochs"
    for experiment in ("paper_grid", "baselines", "hparam_sweep", "size_curve"):
        assert compose_cfg([f"experiment={experiment}"]).schedule.style == "jiant"
