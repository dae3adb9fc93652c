"""L2-SP: a quadratic pull of the encoder towards its pretrained weights.

Li, Grandvalet and Davoine, "Explicit Inductive Bias for Transfer Learning with Convolutional
Networks", ICML 2018: Omega(w) = alpha / 2 * ||w_S - w_S^0||^2 over the shared (pretrained) weights;
its gradient on a weight is alpha * (w - w0). (Their beta term on the new head's weights is left to the
optimizer's weight decay.)
"""

from __future__ import annotations

import torch
from torch import nn

from stilts.controls.base import Control, ControlContext, name_buffer, snapshot


class L2SP(Control):
    """Args:
    encoder: the encoder at the start of the stage (its weights are the reference w0).
    context: unused (the control needs nothing else).
    alpha: strength of the pull.
    """

    def __init__(
        self, encoder: nn.Module, context: ControlContext | None = None, alpha: float = 0.01
    ) -> None:
        super().__init__()
        if alpha < 0:
            raise ValueError(f"`control.alpha` is {alpha}; it must be >= 0")
        self.alpha = float(alpha)
        self.names = list(snapshot(encoder))
        for name, value in snapshot(encoder).items():
            # Not persistent: the reference is rebuilt from the pretrained weights, not checkpointed.
            self.register_buffer(name_buffer(name), value, persistent=False)

    def weighted_distance(self, encoder: nn.Module) -> torch.Tensor:
        params = dict(encoder.named_parameters())
        return sum((params[name] - getattr(self, name_buffer(name))).pow(2).sum() for name in self.names)

    def penalty(self, encoder: nn.Module) -> torch.Tensor:
        return 0.5 * self.alpha * self.weighted_distance(encoder)
