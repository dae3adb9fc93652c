"""Task heads. Contract (stilts.contracts.Head): `forward(hidden[B,T,H], batch) -> logits`;
each head owns its `loss` and `predict`.

`predict` returns the per-example tensors the task's metrics update with (`preds`, `target`, and any
grouping keys a metric needs); the same tensors go to the per-example prediction file.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from stilts.contracts import NO_LABEL, Batch, Head

__all__ = ["Batch", "ClassificationHead", "Head"]


class ClassificationHead(Head):
    """One linear layer on the first token's state (`<s>` / `[CLS]`), as in the paper.

    Args:
        hidden_size: encoder width.
        labels: the task's label names (one output per label).
        dropout: dropout on the first token's state.
    """

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float) -> None:
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"a classification head needs at least 2 labels, got {list(labels)}")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, len(labels))

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.out(self.dropout(hidden[:, 0]))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch["label"], ignore_index=NO_LABEL)

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return {"preds": logits.argmax(-1), "target": batch["label"]}

    def baseline_predict(self, batch: Batch, majority_label: int) -> dict[str, torch.Tensor]:
        return {"preds": torch.full_like(batch["label"], majority_label), "target": batch["label"]}
