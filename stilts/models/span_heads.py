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
    """jiant v1's per-span projection followed by allennlp 0.8.4's `SelfAttentiveSpanExtractor`
    (jiant/modules/edge_probing.py:44-59,133-158 and span_modules.py:23-45,114-126).

    The projection is jiant's width-1 `Conv1d` (cnn_context 0), i.e. one linear map per token. The
    extractor scores every projected token with one global linear layer, softmaxes the scores over
    the span's tokens only and returns the weighted sum of the projected states of the span.

    Spans are half-open `[start, end)` sub-token ranges (jiant keeps half-open spans in its records
    and passes `end - 1` to allennlp's inclusive spans, jiant/tasks/tasks.py:2551-2554: the same
    tokens).
    """

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
        # Padded targets have empty spans; give them position 0 so the softmax stays finite (their
        # outputs are masked out of the loss and the predictions).
        inside[..., 0] |= ~inside.any(-1)
        weights = scores[:, None, :].float().masked_fill(~inside, float("-inf")).softmax(-1)
        return torch.einsum("bts,bsd->btd", weights.to(states.dtype), states)


class EdgeProbingHead(Head):
    """jiant v1's `EdgeClassifierModule` (jiant/modules/edge_probing.py:15-190) with the `edges-tmpl`
    settings (jiant/config/defaults.conf:467-486): dropout on the encoder output, then per span a
    projection and self-attentive pooling (separate parameters for span2: `edgeprobe_symmetric = 0`),
    the pooled spans concatenated, then jiant's "mlp" `Classifier` (jiant/modules/simple_modules.py:
    54-65: Linear, Tanh, LayerNorm, Dropout(classifier_dropout), Linear), one sigmoid per label.

    jiant trains edge probing as multi-label (independent sigmoids, BCE) even for single-label
    tasks, and predicts every label whose probability is >= 0.5 (logit >= 0).

    Args:
        hidden_size: encoder width.
        labels: the task's labels.
        dropout: the grid dropout, on the encoder output (jiant/modules/sentence_encoder.py:135,154).
        num_spans: 1 (span1 only) or 2 (span1 and span2, pooled with separate parameters).
        proj_dim: jiant's `classifier_hid_dim` (256 for edges-tmpl): the width of the projected token
            states the spans are pooled from (edge_probing.py:71) and of the MLP's hidden layer.
        classifier_dropout: dropout inside the MLP (jiant's `classifier_dropout`, 0.3 for edges-tmpl).
    """

    def __init__(
        self,
        hidden_size: int,
        labels: Sequence[str],
        dropout: float,
        num_spans: int = 1,
        proj_dim: int = 256,
        classifier_dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if num_spans not in (1, 2) or not labels:
            raise ValueError(f"span classification needs 1 or 2 spans and labels, got {num_spans}, {labels}")
        self.num_spans = num_spans
        self.dropout = nn.Dropout(dropout)
        self.pool = nn.ModuleList(SelfAttentiveSpanPooling(hidden_size, proj_dim) for _ in range(num_spans))
        self.mlp = nn.Sequential(
            nn.Linear(num_spans * proj_dim, proj_dim),
            nn.Tanh(),
            nn.LayerNorm(proj_dim),
            nn.Dropout(classifier_dropout),
            nn.Linear(proj_dim, len(labels)),
        )

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        hidden = self.dropout(hidden)
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
    """jiant v1's span prediction (jiant/models.py:536-540 `TokenMultiProjectionEncoder`,
    963-1021 `_span_prediction_forward`): a start and an end logit for every token of the
    (passage, question) input from two independent linear maps; the loss is the mean of the start
    and end cross-entropies; the prediction is the independent argmax of each (no joint search, no
    length limit). The gold end is exclusive (the sub-token after the answer), as jiant's
    `answer_token_span` (jiant/tasks/qa.py:833-836).

    jiant's rule that turns the two positions into whitespace words of the passage (end at least
    start + 1, both clipped to the passage) needs the passage's word map, so the metric applies
    it (`stilts.tasks.metrics_spans.jiant_word_span`). Padding positions are masked out of the
    softmax (jiant's logits also covered its padding; a deviation documented in docs/fidelity.md).
    Examples whose answer was truncated away have start/end -100: they add nothing to the loss but
    are still scored at evaluation.

    Args:
        hidden_size: encoder width.
        labels: unused (QA has no label set); accepted for the head contract.
        dropout: the grid dropout, on the token states.
    """

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 2)  # column 0: jiant's span_start, 1: span_end projection

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = self.out(self.dropout(hidden)).float()  # [B, S, 2]
        padding = ~batch["attention_mask"].bool()
        return logits.masked_fill(padding[..., None], torch.finfo(logits.dtype).min)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        start, end = batch["start_positions"], batch["end_positions"]
        if bool((start == IGNORE_INDEX).all()):
            return logits.sum() * 0.0  # every answer in the batch was truncated away
        return (F.cross_entropy(logits[..., 0], start) + F.cross_entropy(logits[..., 1], end)) / 2

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        # Independent argmaxes, as jiant/models.py:983-984 (the end may fall before the start).
        return {"start": logits[..., 0].argmax(-1), "end": logits[..., 1].argmax(-1), "idx": batch["idx"]}
