"""The paper's optimisation in real tiny cells (issue 13, rules 2 and 3): a pretrained encoder trains
with its own dropout on; the global gradient norm is clipped before BertAdam steps."""

from __future__ import annotations

import torch
from torch import nn

from stilts.models.module import TransferModule
from stilts.models.optim import BertAdam
from tests.helpers import run_tiny_cell

B1, B2, EPS, WD = 0.9, 0.999, 1e-6, 0.01


def test_a_pretrained_encoder_trains_with_its_own_dropout_on(tmp_path, monkeypatch) -> None:
    """transformers loads pretrained weights in eval mode and Lightning keeps modules' modes: a cell on
    the pretrained MiniLM must still train with every encoder dropout module active (jiant calls
    `model.train()` before each step), and validate with them off."""
    modes: dict[str, set[bool]] = {"train": set(), "val": set()}
    train_step, val_step = TransferModule.training_step, TransferModule.validation_step

    def dropout_modes(module: TransferModule) -> set[bool]:
        return {m.training for m in module.encoder.modules() if isinstance(m, nn.Dropout)}

    def recording_train(self: TransferModule, batch, batch_idx):  # noqa: ANN001, ANN202
        modes["train"] |= dropout_modes(self)
        return train_step(self, batch, batch_idx)

    def recording_val(self: TransferModule, batch, batch_idx):  # noqa: ANN001, ANN202
        modes["val"] |= dropout_modes(self)
        return val_step(self, batch, batch_idx)

    monkeypatch.setattr(TransferModule, "training_step", recording_train)
    monkeypatch.setattr(TransferModule, "validation_step", recording_val)
    run_tiny_cell(tmp_path, ["model=minilm", "task@target=rte", "+trainer.max_steps=2"])
    assert modes == {"train": {True}, "val": {False}}


def test_a_cell_clips_the_global_gradient_norm_before_bert_adam_steps(tmp_path, monkeypatch) -> None:
    """`optim.grad_clip` reaches the trainer: the gradients BertAdam receives have a joint norm of at
    most the limit (a tiny limit, so that clipping certainly happens)."""
    seen: list[float] = []
    step = BertAdam.step

    def recording_step(self: BertAdam, closure=None):  # noqa: ANN001, ANN202
        # Lightning passes a closure that runs forward, backward and its gradient clipping.
        loss = closure() if closure is not None else None
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        seen.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        step(self)
        return loss

    monkeypatch.setattr(BertAdam, "step", recording_step)
    run_tiny_cell(tmp_path, ["task@target=rte", "+trainer.max_steps=2", "optim.grad_clip=0.001"])
    assert len(seen) == 2
    assert all(norm <= 0.001 * (1 + 1e-3) for norm in seen)
