"""Heads over token states: span classification (edge probing), token tagging (CCG) and extractive
span QA (QAMR, QA-SRL). The contract is stilts.models.heads': `forward(hidden, batch) -> logits`,
`loss`, `predict`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from stilts.contracts import IGNORE_INDEX, UNK_TAG, Batch, Head


class SelfAttentiveSpanPooling(nn.Module):
    """Attention-weighted sum of a span's projected token states (jiant's "self-attentive span
    extractor"): one learned score per token, softmax within the span."""

    def __init__(self, hidden_size: int, proj_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden_size, proj_dim)
        self.score = nn.Linear(proj_dim, 1)

    def forward(self, hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        """hidden [B, S, H], spans [B, T, 2] half-open sub-token spans -> [B, T, proj_dim]."""
        states = self.proj(hidden)  # [B, S, D]
        scores = self.score(states).squeeze(-1)  # [B, S]
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        inside = (positions[None, None, :] >= spans[..., :1]) & (positions[None, None, :] < spans[..., 1:])
        # Padded targets have empty spans; give them position 0 so the softmax stays finite.
        inside[..., 0] |= ~inside.any(-1)
        weights = scores[:, None, :].float().masked_fill(~inside, float("-inf")).softmax(-1)
        return torch.einsum("bts,bsd->btd", weights.to(states.dtype), states)


class EdgeProbingHead(Head):
    """Edge-probing head: pool each target's span(s), concatenate, MLP, one sigmoid per label.

    jiant v1 trains edge probing as multi-label (independent sigmoids, BCE) even for single-label
    tasks, and predicts every label whose probability is >= 0.5 (logit >= 0).

    Args:
        hidden_size: encoder width.
        labels: the task's labels.
        dropout: dropout before the MLP.
        num_spans: 1 (span1 only) or 2 (span1 and span2, pooled with separate parameters).
        proj_dim: width of the projected token states the spans are pooled from.
    """

    def __init__(
        self, hidden_size: int, labels: Sequence[str], dropout: float, num_spans: int = 1, proj_dim: int = 256
    ) -> None:
        super().__init__()
        if num_spans not in (1, 2) or not labels:
            raise ValueError(f"span classification needs 1 or 2 spans and labels, got {num_spans}, {labels}")
        self.num_spans = num_spans
        self.pool = nn.ModuleList(SelfAttentiveSpanPooling(hidden_size, proj_dim) for _ in range(num_spans))
        self.mlp = nn.Sequential(
            nn.Linear(num_spans * proj_dim, proj_dim),
            nn.Tanh(),
            nn.LayerNorm(proj_dim),
            nn.Dropout(dropout),
            nn.Linear(proj_dim, len(labels)),
        )

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        keys = ("span1", "span2")[: self.num_spans]
        pooled = [pool(hidden, batch[key]) for pool, key in zip(self.pool, keys, strict=True)]
        return self.mlp(torch.cat(pooled, dim=-1))  # [B, T, n_labels]

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        mask = batch["target_mask"]
        return F.binary_cross_entropy_with_logits(logits[mask].float(), batch["labels"][mask].float())

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        mask = batch["target_mask"]
        idx = batch["idx"][:, None].expand_as(mask)
        return {
            "preds": (logits[mask] >= 0).long(),  # [N targets, n_labels] multi-hot
            "target": batch["labels"][mask].long(),
            "idx": idx[mask],  # the sentence of each target
        }


class TokenTaggingHead(Head):
    """One linear layer per sub-token; only the first sub-token of each word carries a label.

    A trailing `<unk>` label (tags seen only outside training) is never predicted, so words with an
    unknown gold tag always count as wrong.
    """

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float) -> None:
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"token tagging needs at least 2 labels, got {list(labels)}")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, len(labels))
        self.unk = len(labels) - 1 if labels[-1] == UNK_TAG else None

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.out(self.dropout(hidden))  # [B, S, n_labels]

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(
            logits.flatten(0, 1).float(), batch["tag_labels"].flatten(), ignore_index=IGNORE_INDEX
        )

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        scores = logits.float()
        if self.unk is not None:
            scores[..., self.unk] = float("-inf")
        mask = batch["tag_labels"] != IGNORE_INDEX
        idx = batch["idx"][:, None].expand_as(mask)
        return {"preds": scores.argmax(-1)[mask], "target": batch["tag_labels"][mask], "idx": idx[mask]}


class SpanQAHead(Head):
    """Extractive QA: start and end logits over the context's sub-tokens; CE on start and end.

    The prediction is the best-scoring span with start <= end < start + max_answer_tokens inside the
    context (`context_mask`). Examples whose answer was truncated away have start/end -100: they
    add nothing to the loss but are still scored at evaluation.

    Args:
        hidden_size: encoder width.
        labels: unused (QA has no label set); accepted for the head contract.
        dropout: dropout on the token states.
        max_answer_tokens: longest predicted answer in sub-tokens.
    """

    def __init__(
        self, hidden_size: int, labels: Sequence[str], dropout: float, max_answer_tokens: int = 30
    ) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 2)
        self.max_answer_tokens = max_answer_tokens

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = self.out(self.dropout(hidden)).float()  # [B, S, 2]
        outside = ~batch["context_mask"].bool()
        return logits.masked_fill(outside[..., None], torch.finfo(logits.dtype).min)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        start, end = batch["start_positions"], batch["end_positions"]
        if bool((start == IGNORE_INDEX).all()):
            return logits.sum() * 0.0  # every answer in the batch was truncated away
        return (F.cross_entropy(logits[..., 0], start) + F.cross_entropy(logits[..., 1], end)) / 2

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        start, end = logits[..., 0], logits[..., 1]
        length = logits.shape[1]
        pair = start[:, :, None] + end[:, None, :]  # [B, S(start), S(end)]
        offsets = torch.arange(length, device=logits.device)
        width = offsets[None, :] - offsets[:, None]
        valid = (width >= 0) & (width < self.max_answer_tokens)
        best = pair.masked_fill(~valid, float("-inf")).flatten(1).argmax(-1)
        return {"start": best // length, "end": best % length, "idx": batch["idx"]}
