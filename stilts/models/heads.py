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
from stilts.errors import ConfigError

__all__ = ["Batch", "ClassificationHead", "Head"]

# What a head reads from the encoder output (`head.pooling` in a task yaml or on the command line):
# - first: the first token's state (`<s>` / `[CLS]`), as in the paper: jiant v1 pools "first" for
#   BERT and RoBERTa without a sentence encoder (jiant/utils/utils.py:77-99) and discards the model's
#   pooled output (jiant/pytorch_transformers_interface/modules.py:298, 354);
# - pooler: the encoder's own pretrained pooler over the first token (BERT's dense + tanh), as
#   transformers' BertForSequenceClassification / BertForMultipleChoice do; needs an encoder built with
#   its pooling layer (`model.kwargs.add_pooling_layer=true`).
POOLINGS = ("first", "pooler")


def init_output_layer(layer: nn.Linear, init_std: float | None) -> None:
    """A head's output layer: PyTorch's default `nn.Linear` initialisation (None; the paper's `log_reg`
    classifier, base_roberta.conf:20, is a plain `nn.Linear`: jiant/modules/simple_modules.py:56-57),
    or weights from N(0, init_std) and a zero bias, as transformers initialises its heads
    (`initializer_range`, 0.02 for BERT and RoBERTa: `head.init_std=0.02`)."""
    if init_std is None:
        return
    if init_std <= 0:
        raise ConfigError(f"`head.init_std` is {init_std}; give a positive standard deviation, or null")
    nn.init.normal_(layer.weight, mean=0.0, std=init_std)
    nn.init.zeros_(layer.bias)


class ClassificationHead(Head):
    """One linear layer on the first token's state (`<s>` / `[CLS]`), as in the paper, or on the
    encoder's pretrained pooler output (`pooling: pooler`).

    Args:
        hidden_size: encoder width.
        labels: the task's label names (one output per label).
        dropout: dropout on the pooled state.
        pooling: `first` (the paper's) or `pooler` (see POOLINGS).
        init_std: the output layer's initialisation (`init_output_layer`; None: PyTorch's, the paper's).
    """

    def __init__(
        self,
        hidden_size: int,
        labels: Sequence[str],
        dropout: float,
        pooling: str = "first",
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"a classification head needs at least 2 labels, got {list(labels)}")
        self._init_pooling(dropout, pooling)
        self.out = nn.Linear(hidden_size, len(labels))
        init_output_layer(self.out, init_std)

    def _init_pooling(self, dropout: float, pooling: str) -> None:
        if pooling not in POOLINGS:
            raise ConfigError(f"`head.pooling` is {pooling!r}; use one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.pooler: nn.Module | None = None  # the encoder's, bound in `bind_encoder`
        self.dropout = nn.Dropout(dropout)

    def bind_encoder(self, encoder: nn.Module) -> None:
        """With `pooling: pooler`, use (share) the encoder's pretrained pooler."""
        if self.pooling != "pooler":
            return
        pooler = getattr(encoder, "pooler", None)
        if pooler is None:
            raise ConfigError(
                f"`head.pooling=pooler` needs the encoder's pooling layer, which {type(encoder).__name__} "
                "was built without: set `model.kwargs.add_pooling_layer=true` (BERT-family checkpoints "
                "carry pretrained pooler weights)"
            )
        self.pooler = pooler

    def head_input(self, hidden: torch.Tensor) -> torch.Tensor:
        """The dropped-out state the output layer reads, `[B, H]`."""
        if self.pooling == "first":
            return self.dropout(hidden[:, 0])
        if self.pooler is None:
            raise RuntimeError("`pooling: pooler` head used before `bind_encoder`")
        return self.dropout(self.pooler(hidden))  # BertPooler: dense + tanh over hidden[:, 0]

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.out(self.head_input(hidden))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch["label"], ignore_index=NO_LABEL)

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return {"preds": logits.argmax(-1), "target": batch["label"]}

    def baseline_predict(self, batch: Batch, majority_label: int) -> dict[str, torch.Tensor]:
        return {"preds": torch.full_like(batch["label"], majority_label), "target": batch["label"]}
