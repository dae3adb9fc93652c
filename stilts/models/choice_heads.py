"""Heads of the tasks with their own shape: multiple choice, marked-word
classification (WiC), span classification (WSC), grouped binary answers (MultiRC) and candidate
scoring (ReCoRD).

Contract as in `stilts.models.heads`: `forward(hidden, batch) -> logits`, `loss`, `predict`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from stilts.models.heads import Batch, ClassificationHead, Head, init_output_layer
from stilts.models.span_heads import SelfAttentiveSpanPooling


class MultipleChoiceHead(ClassificationHead):
    """Scores each choice's first-token state with one linear layer; softmax over the choices.

    The encoder sees the choices flattened, `hidden[batch * choices, T, H]`; `batch["choice_mask"]`
    (`[batch, choices]`) restores the grouping and masks the fillers of examples with fewer choices.

    Args:
        hidden_size: encoder width.
        labels: the task's choice labels (unused beyond the contract: choices are scored, not labels).
        dropout: dropout on the pooled state.
        pooling: `first` (the paper's) or `pooler` (stilts.models.heads.POOLINGS).
        init_std: the scoring layer's initialisation (stilts.models.heads.init_output_layer).
    """

    def __init__(
        self,
        hidden_size: int,
        labels: Sequence[str],
        dropout: float,
        pooling: str = "first",
        init_std: float | None = None,
    ) -> None:
        # Loss, predictions and the majority baseline are the classifier's, over choices.
        Head.__init__(self)
        self._init_pooling(dropout, pooling)
        self.score = nn.Linear(hidden_size, 1)
        init_output_layer(self.score, init_std)

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        mask = batch["choice_mask"]
        scores = self.score(self.head_input(hidden)).view(mask.shape)
        return scores.masked_fill(~mask, torch.finfo(scores.dtype).min)


def mean_pool_span(hidden: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Mean of `hidden[b, start[b]:end[b]]` per example (end exclusive); `[B, T, H] -> [B, H]`."""
    positions = torch.arange(hidden.shape[1], device=hidden.device)
    mask = (positions[None, :] >= start[:, None]) & (positions[None, :] < end[:, None])
    weights = mask.to(hidden.dtype)
    return (hidden * weights[..., None]).sum(1) / weights.sum(1, keepdim=True).clamp(min=1.0)


class MarkedSpanHead(ClassificationHead):
    """WiC as jiant v1 builds it for RoBERTa: [first token; mean(span1); mean(span2)] -> linear.

    jiant's WiC is a pair-classification task, not a span task: `SingleClassifier` pools the input
    with `pool_type` "first" (jiant/utils/utils.py:77-89 for roberta without a sentence encoder, no
    projection when fine-tuning, jiant/models.py:819-822), appends the mean of each marked word's
    token states (jiant/modules/simple_modules.py:128-149, models.py:724-728,1036-1037) and applies
    `classifier = log_reg` (base_roberta.conf:20), one linear layer.

    Spans come as `span{k}_start` / `span{k}_end` token positions (end exclusive), projected from
    characters by the featurizer.

    Args:
        hidden_size: encoder width.
        labels: the task's label names.
        dropout: the grid dropout, on every token state before pooling, as jiant applies it to the
            encoder output (jiant/modules/sentence_encoder.py:135,154) ahead of the first-token and
            span-mean pooling.
        num_spans: marked spans per example (WiC: 2).
    """

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float, num_spans: int = 2) -> None:
        super().__init__(hidden_size, labels, dropout)
        self.num_spans = num_spans
        self.out = nn.Linear(hidden_size * (1 + num_spans), len(labels))

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        hidden = self.dropout(hidden)
        parts = [hidden[:, 0]]
        for k in range(1, self.num_spans + 1):
            parts.append(mean_pool_span(hidden, batch[f"span{k}_start"], batch[f"span{k}_end"]))
        return self.out(torch.cat(parts, dim=-1))


class SpanClassifierHead(ClassificationHead):
    """WSC as jiant v1's `SpanClassifierModule` (jiant/modules/span_modules.py:14-140; built by
    jiant/models.py:556-558,743-745 for `winograd-coreference`, a `SpanClassificationTask`).

    Per span (separate parameters): a projection to `proj_dim` and self-attentive pooling over the
    span's tokens (`SelfAttentiveSpanPooling`, allennlp's `SelfAttentiveSpanExtractor`); the pooled
    spans are concatenated and scored by `classifier = log_reg` (base_roberta.conf:20), one linear
    layer; softmax cross-entropy (`span_classifier_loss_fn = "softmax"`, defaults.conf:367). No
    first-token state: jiant's module sees the spans only.

    Args:
        hidden_size: encoder width.
        labels: the task's label names.
        dropout: the grid dropout, on the encoder output (jiant/modules/sentence_encoder.py:135,154).
        num_spans: marked spans per example (WSC: 2).
        proj_dim: jiant's `classifier_hid_dim` (defaults.conf:356, 512; base_roberta.conf keeps it),
            the width of each span's projection (span_modules.py:55).
    """

    def __init__(
        self, hidden_size: int, labels: Sequence[str], dropout: float, num_spans: int = 2, proj_dim: int = 512
    ) -> None:
        super().__init__(hidden_size, labels, dropout)
        self.num_spans = num_spans
        self.pool = nn.ModuleList(SelfAttentiveSpanPooling(hidden_size, proj_dim) for _ in range(num_spans))
        self.out = nn.Linear(num_spans * proj_dim, len(labels))

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        hidden = self.dropout(hidden)
        pooled = []
        for k, pool in enumerate(self.pool, start=1):
            # One target per example: [B, 1, 2] half-open sub-token spans.
            spans = torch.stack([batch[f"span{k}_start"], batch[f"span{k}_end"]], dim=-1)[:, None]
            pooled.append(pool(hidden, spans)[:, 0])
        return self.out(torch.cat(pooled, dim=-1))


class GroupedBinaryHead(ClassificationHead):
    """MultiRC: each answer option is a (paragraph, question + answer) pair classified true/false on
    its first token, as in jiant v1; `predict` adds the question `group` the EM metric needs."""

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return {**super().predict(logits, batch), "group": batch["group"]}

    def baseline_predict(self, batch: Batch, majority_label: int) -> dict[str, torch.Tensor]:
        return {**super().baseline_predict(batch, majority_label), "group": batch["group"]}


class CandidateScoringHead(Head):
    """ReCoRD: two logits (not / is a gold answer) per (query, candidate entity) sequence from its
    first-token state, as jiant v1 builds its ReCoRD classifier, `Classifier(d, 2)` (`log_reg`, one
    linear layer; jiant/models.py:798), trained with softmax cross-entropy (jiant/models.py:1298).

    A candidate's score is its softmax probability of class 1, which jiant ranks a query's candidates
    by (jiant/tasks/qa.py:389; float32, so saturated probabilities tie as there). The argmax over a
    query's candidates (rows sharing `idx`, told apart by `candidate`) is taken by the metric, which
    sees every candidate of a query however the batches split them.

    Args:
        hidden_size: encoder width.
        labels: `[false, true]` (the candidate is not / is a gold answer).
        dropout: dropout on the first token's state.
    """

    def __init__(self, hidden_size: int, labels: Sequence[str], dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.score(self.dropout(hidden[:, 0]))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        label = batch["label"]
        known = label >= 0
        return F.cross_entropy(logits.float()[known], label[known])

    def _outputs(self, scores: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return {
            "preds": (scores > 0.5).long(),
            "target": batch["label"],
            "scores": scores.float(),
            "candidate": batch["candidate"],
            "idx": batch["idx"],
        }

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return self._outputs(torch.softmax(logits.detach().float(), dim=-1)[:, 1], batch)

    def baseline_predict(self, batch: Batch, majority_label: int) -> dict[str, torch.Tensor]:
        # Equal scores: the argmax picks each query's first candidate (the first entity in the passage).
        return self._outputs(torch.full_like(batch["label"], majority_label, dtype=torch.float), batch)
