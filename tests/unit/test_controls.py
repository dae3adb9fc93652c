"""Controls against forgetting, each observed in its effect: gradients by hand, batch shares by count."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

from stilts.controls.ewc import EWC
from stilts.controls.l2sp import L2SP
from stilts.controls.mlm_mix import MARK, MixedBatches


def linear(weight: list[list[float]], bias: list[float]) -> nn.Linear:
    layer = nn.Linear(2, len(weight))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def test_l2sp_gradient_is_alpha_times_the_distance_from_the_pretrained_weights() -> None:
    encoder = linear([[1.0, 2.0]], [0.5])
    control = L2SP(encoder, alpha=0.1)
    with torch.no_grad():  # training moved the weights: w - w0 = (0.5, -1.0) and bias +2
        encoder.weight.copy_(torch.tensor([[1.5, 1.0]]))
        encoder.bias.copy_(torch.tensor([2.5]))
    penalty = control.penalty(encoder)
    assert penalty.item() == pytest.approx(0.5 * 0.1 * (0.25 + 1.0 + 4.0))
    penalty.backward()
    assert encoder.weight.grad[0].tolist() == pytest.approx([0.05, -0.1])
    assert encoder.bias.grad.tolist() == pytest.approx([0.2])


def test_l2sp_is_zero_at_the_pretrained_weights() -> None:
    encoder = linear([[1.0, 2.0]], [0.5])
    assert L2SP(encoder, alpha=3.0).penalty(encoder).item() == 0.0


def test_ewc_gradient_is_lambda_times_fisher_times_the_distance() -> None:
    encoder = linear([[1.0, 2.0]], [0.0])
    fisher = {"weight": torch.tensor([[4.0, 0.0]]), "bias": torch.tensor([1.0])}
    control = EWC(encoder, lam=0.5, fisher=fisher)
    with torch.no_grad():
        encoder.weight.copy_(torch.tensor([[2.0, 5.0]]))  # w - w0 = (1, 3): the second has Fisher 0
        encoder.bias.copy_(torch.tensor([-1.0]))
    penalty = control.penalty(encoder)
    assert penalty.item() == pytest.approx(0.5 * 0.5 * (4.0 * 1.0 + 0.0 * 9.0 + 1.0 * 1.0))
    penalty.backward()
    assert encoder.weight.grad[0].tolist() == pytest.approx([2.0, 0.0])
    assert encoder.bias.grad.tolist() == pytest.approx([-0.5])


@pytest.mark.parametrize(
    "ratio, task_batches", [(Fraction(1, 4), 9), (Fraction(1, 2), 5), (Fraction(2, 5), 6)]
)
def test_mlm_mix_share_of_batches_equals_the_ratio(ratio, task_batches) -> None:
    task = [{"task": torch.tensor(i)} for i in range(task_batches)]
    mlm = [{"mlm": torch.tensor(0)}, {"mlm": torch.tensor(1)}]  # cycled
    stream = list(MixedBatches(task, mlm, ratio))
    assert len(stream) == len(MixedBatches(task, mlm, ratio))
    mlm_count = sum(MARK in batch for batch in stream)
    assert [b["task"].item() for b in stream if "task" in b] == list(range(task_batches))  # all, in order
    assert Fraction(mlm_count, len(stream)) == ratio  # whole periods: exactly the ratio
    assert stream[-1] is task[-1]


def test_mlm_mix_puts_the_mlm_batches_first_in_each_period() -> None:
    task = [{"task": torch.tensor(i)} for i in range(4)]  # 1/3: M T T | M T T (period of three)
    stream = list(MixedBatches(task, [{"mlm": torch.tensor(0)}], Fraction(1, 3)))
    assert [MARK in batch for batch in stream] == [True, False, False, True, False, False]


def test_mlm_mix_with_ratio_zero_is_the_task_stream() -> None:
    task = [{"task": torch.tensor(i)} for i in range(4)]
    assert list(MixedBatches(task, [{"mlm": torch.tensor(0)}], Fraction(0))) == task
