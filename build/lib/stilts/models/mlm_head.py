"""The masked-language-model head: dense + GELU + LayerNorm, then a decoder tied to the encoder's
input embeddings (as in BERT/RoBERTa), scored on the masked positions only."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from stilts.contracts import IGNORE_INDEX
from stilts.models.heads import Batch, Head


class MaskedLMHead(Head):
    """Predicts the original token at every masked position (`mlm_labels` != -100)."""

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.embeddings: nn.Embedding | None = None
        self.bias: nn.Parameter | None = None

    def bind_encoder(self, encoder: nn.Module) -> None:
        """Tie the decoder to the encoder's input embeddings (called once the encoder exists)."""
        self.embeddings = encoder.get_input_embeddings()
        self.bias = nn.Parameter(torch.zeros(self.embeddings.num_embeddings))

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        if self.embeddings is None:
            raise RuntimeError("MaskedLMHead.bind_encoder was not called")
        selected = hidden[batch["mlm_labels"] != IGNORE_INDEX]  # only masked positions need vocab logits
        state = self.norm(F.gelu(self.dense(self.dropout(selected))))
        return state @ self.embeddings.weight.T + self.bias

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        target = batch["mlm_labels"][batch["mlm_labels"] != IGNORE_INDEX]
        if target.numel() == 0:
            return logits.sum() * 0.0
        return F.cross_entropy(logits.float(), target)

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        mask = batch["mlm_labels"] != IGNORE_INDEX
        target = batch["mlm_labels"][mask]
        preds = logits.argmax(-1)
        idx = batch["idx"].unsqueeze(1).expand_as(mask)[mask]
        return {"preds": preds, "target": target, "value": (preds == target).float(), "idx": idx}
