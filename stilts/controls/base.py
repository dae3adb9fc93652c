"""What a control can do to a training stage: add batches of its own, add a penalty to the loss."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn


@dataclass(frozen=True)
class ControlContext:
    """What a control may need besides the encoder: the cell's `model` node (its `max_length`, its
    pretrained MLM head) and `forgetting` node (where that head comes from,
    stilts.forgetting.settings.head_source), the tokenizer, the stage's batch size and seed."""

    model: DictConfig
    forgetting: DictConfig | None
    tokenizer: Any
    batch_size: int
    seed: int


class Control(nn.Module):
    """A no-op control; subclasses override what they change. Being a module, a control's parameters
    (e.g. mlm_mix's MLM head) are trained and checkpointed with the stage's module."""

    def owns(self, batch: dict[str, torch.Tensor]) -> bool:
        """Whether `batch` is one of the control's own batches (scored by `batch_loss`)."""
        return False

    def batch_loss(self, encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no batches of its own")

    def penalty(self, encoder: nn.Module) -> torch.Tensor | None:
        """A term added to every training step's loss, or None."""
        return None

    def wrap_train_loader(self, loader: Iterable) -> Iterable:
        """The training batches the stage sees (by default the task's own)."""
        return loader


def snapshot(encoder: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the encoder's trainable weights: the pretrained start point w0."""
    return {name: p.detach().clone() for name, p in encoder.named_parameters() if p.requires_grad}


def name_buffer(name: str) -> str:
    """A buffer name for a parameter name (module buffers may not contain dots)."""
    return name.replace(".", "__")
