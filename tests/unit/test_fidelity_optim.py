"""The paper's optimisation and dropout placement (issue 13, rules 2 and 3), observed on optimizer
state and module behaviour: BertAdam without bias correction, which tensors decay, per-tensor
clipping, jiant's warm-up schedule; RoBERTa's own dropout kept at 0.1 while the head input gets the
grid dropout."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from stilts.errors import ConfigError
from stilts.models.encoder import build_encoder
from stilts.models.module import TransferModule
from stilts.models.optim import BertAdam, bert_adam_schedule
from tests.helpers import compose_cfg

B1, B2, EPS, WD = 0.9, 0.999, 1e-6, 0.01


def bert_adam(params: list[nn.Parameter], lr: float = 0.1, max_grad_norm: float = 1.0) -> BertAdam:
    return BertAdam(params, lr=lr, betas=(B1, B2), eps=EPS, weight_decay=WD, max_grad_norm=max_grad_norm)


def test_bert_adam_first_step_has_no_bias_correction() -> None:
    param = nn.Parameter(torch.tensor([1.0, -2.0]))
    param.grad = torch.tensor([0.5, 0.1])  # norm 0.51 < 1: no clipping
    optimizer = bert_adam([param])
    optimizer.step()
    # By hand: m = 0.1 g, v = 0.001 g^2, p1 = p0 - lr * (m / (sqrt(v) + eps) + wd * p0).
    for p0, g, p1 in zip([1.0, -2.0], [0.5, 0.1], param.tolist(), strict=True):
        m, v = (1 - B1) * g, (1 - B2) * g * g
        assert p1 == pytest.approx(p0 - 0.1 * (m / (math.sqrt(v) + EPS) + WD * p0), rel=1e-6)
        # With Adam's bias correction the step would be ~3.16x larger: m/(1-b1) / sqrt(v/(1-b2)).
        corrected = p0 - 0.1 * ((m / (1 - B1)) / (math.sqrt(v / (1 - B2)) + EPS) + WD * p0)
        assert abs(p1 - corrected) > 0.1
    assert optimizer.state[param]["exp_avg"].tolist() == pytest.approx([0.05, 0.01], rel=1e-6)
    assert optimizer.state[param]["step"] == 1


def test_bert_adam_clips_each_tensor_to_norm_one() -> None:
    big = nn.Parameter(torch.zeros(2))
    small = nn.Parameter(torch.zeros(2))
    big.grad = torch.tensor([3.0, 4.0])  # norm 5 -> clipped to [0.6, 0.8]
    small.grad = torch.tensor([0.3, 0.4])  # norm 0.5 -> untouched (a global clip would scale it too)
    optimizer = bert_adam([big, small])
    optimizer.step()
    assert optimizer.state[big]["exp_avg"].tolist() == pytest.approx([0.1 * 0.6, 0.1 * 0.8], rel=1e-6)
    assert optimizer.state[small]["exp_avg"].tolist() == pytest.approx([0.1 * 0.3, 0.1 * 0.4], rel=1e-6)


def reference_warmup_linear(step: int, total: int, warmup: float) -> float:
    """pytorch_pretrained_bert 0.6.2 WarmupLinearSchedule.get_lr, transcribed."""
    progress = float(step) / total
    if progress < warmup:
        return progress / warmup
    return max((progress - 1.0) / (warmup - 1.0), 0.0)


def test_bert_adam_schedule_is_pytorch_pretrained_berts() -> None:
    param = nn.Parameter(torch.zeros(1))
    optimizer = bert_adam([param], lr=2e-5)
    schedule = bert_adam_schedule(optimizer, 50, warmup_ratio=0.1)
    for step in range(60):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-5 * reference_warmup_linear(step, 50, 0.1))
        param.grad = torch.ones(1)
        optimizer.step()
        schedule.step()
    # The first step has learning rate 0, the peak is at step 5, 0 from step 50 on.


def tiny_module(optim: str) -> TransferModule:
    """A TransferModule as stilts.stage builds it, with `optim=<optim>`, on the tiny model."""
    cfg = compose_cfg(["model=tiny", f"optim={optim}", "task@target=rte"])
    encoder = build_encoder(cfg.model, dropout=0.1)
    hidden_size = encoder.config.hidden_size
    head = instantiate(cfg.target.head, hidden_size=hidden_size, labels=["a", "b"], dropout=0.1)
    module = TransferModule(
        encoder,
        head,
        {},
        ["acc"],
        lr=1e-3,
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler),
        no_decay=list(cfg.optim.no_decay),
    )
    module._trainer = SimpleNamespace(estimated_stepping_batches=10)  # what configure_optimizers reads
    return module


@pytest.mark.parametrize(("optim", "layer_norm_decays"), [("bert_adam", True), ("adamw", False)])
def test_which_tensors_decay(optim: str, layer_norm_decays: bool) -> None:
    """With zero gradients only weight decay moves a tensor: BertAdam decays every tensor, AdamW
    leaves biases and LayerNorm weights alone."""
    module = tiny_module(optim)
    config = module.configure_optimizers()
    optimizer, schedule = config["optimizer"], config["lr_scheduler"]["scheduler"]
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    for _ in range(2):  # BertAdam's first step has learning rate 0: take two
        for p in module.parameters():
            p.grad = torch.zeros_like(p)
        optimizer.step()
        schedule.step()
    changed = {name for name, p in module.named_parameters() if not torch.equal(p, before[name])}
    layer_norms = {n for n in before if n.endswith("LayerNorm.weight")}
    dense = {n for n in before if n.endswith("dense.weight")}
    assert layer_norms and dense
    assert dense <= changed
    assert (layer_norms <= changed) == layer_norm_decays
    assert bool(layer_norms & changed) == layer_norm_decays
    if optim == "bert_adam":
        assert isinstance(optimizer, BertAdam)
        assert {g["weight_decay"] for g in optimizer.param_groups} == {WD}


@pytest.mark.parametrize(("placement", "internal"), [("head", 0.1), ("every_layer", 0.2)])
def test_grid_dropout_goes_to_the_head_input_and_roberta_keeps_its_own(
    placement: str, internal: float
) -> None:
    cfg = compose_cfg(["model=tiny", "task@target=rte", f"model.dropout_placement={placement}"])
    encoder = build_encoder(cfg.model, dropout=0.2)
    internal_ps = {m.p for m in encoder.modules() if isinstance(m, nn.Dropout)}
    assert internal_ps == {internal}  # the tiny RoBERTa's config.json says 0.1
    hidden_size = encoder.config.hidden_size
    head = instantiate(cfg.target.head, hidden_size=hidden_size, labels=["a", "b"], dropout=0.2)
    # Behaviour: in training mode every element of the head's linear input is 0 or the encoder's
    # first-token state scaled by 1 / (1 - 0.2).
    torch.manual_seed(0)
    seen: dict[str, torch.Tensor] = {}
    head.out.register_forward_pre_hook(lambda _m, args: seen.setdefault("x", args[0].detach()))
    hidden = torch.randn(64, 3, hidden_size)
    head.train()
    head(hidden, {})
    ratio = seen["x"] / hidden[:, 0]
    kept = ratio != 0
    assert torch.allclose(ratio[kept], torch.full_like(ratio[kept], 1 / (1 - 0.2)))
    assert 0.1 < 1 - kept.float().mean().item() < 0.3  # about 20% dropped (64 x 64 elements)


def test_a_bad_dropout_placement_names_the_key() -> None:
    cfg = compose_cfg(["model=tiny", "model.dropout_placement=everywhere"])
    with pytest.raises(ConfigError, match="model.dropout_placement"):
        build_encoder(cfg.model, dropout=0.2)
