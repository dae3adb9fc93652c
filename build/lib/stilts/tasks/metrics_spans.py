"""Metrics of the span tasks, as torchmetrics Metrics (sum states, so they are exact under DDP).

- Edge probing micro-F1 is torchmetrics' built-in `BinaryF1Score` on the multi-hot predictions of
  every (target, label) decision (it flattens them), named in the task yamls.
- `TokenAccuracy`: CCG supertagging accuracy over words (positions labelled -100 are not scored).
- `SpanQAScore`: SQuAD-normalised F1 or EM (lowercase, strip punctuation, drop a/an/the, collapse
  whitespace; F1 = token-overlap F1) between the predicted sub-token span's text and the gold answer
  string, mean over examples. jiant's QAMR/QA-SRL score is (F1 + EM) / 2: the yamls name both as
  `main_metric`.
- `squad_f1` / `squad_exact_match`: the SQuAD v1.1 official rules, which jiant v1 uses for QAMR,
  QA-SRL and ReCoRD (jiant/metrics/span_metrics.py:10-58, "from official ReCoRD eval script"): F1 is
  0 whenever no token is shared, so also when the gold (or the prediction) normalises to empty.
  torchmetrics' `SQuAD` follows the SQuAD v2 no-answer rule instead (F1 1 when both normalise to
  empty), so stilts does not use it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

import datasets
import torch
from torchmetrics import Metric

from stilts.contracts import IGNORE_INDEX

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lowercase, drop punctuation, drop a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_f1(prediction: str, gold: str) -> float:
    """SQuAD v1.1 token F1: 0 when prediction and gold share no normalised token (also when either
    normalises to empty)."""
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_exact_match(prediction: str, gold: str) -> float:
    """SQuAD v1.1 exact match: 1.0 when the normalised strings are equal."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


class TokenAccuracy(Metric):
    """Fraction of scored positions (target != -100) whose prediction equals the target."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, ignore_index: int = IGNORE_INDEX, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("correct", default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        scored = target != self.ignore_index
        self.correct += (preds[scored] == target[scored]).sum()
        self.total += scored.sum()

    def compute(self) -> torch.Tensor:
        return self.correct.float() / self.total.clamp(min=1)


class SpanQAScore(Metric):
    """SQuAD v1.1 F1 or EM of predicted spans against the gold answer of each example, mean over
    examples (sum states, exact under DDP).

    `bind_references` (called by stilts.stage with the featurized dev set) gives, per `idx`, the
    context string, each sub-token's character offsets in it and the gold answer string.

    Args:
        score: `f1` or `em`.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, score: str = "f1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score not in ("f1", "em"):
            raise ValueError(f"score must be `f1` or `em`, got {score!r}")
        self.score = score
        self.references: dict[int, tuple[str, list[list[int]], str]] = {}
        self.add_state("total_score", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def bind_references(self, dataset: datasets.Dataset) -> None:
        columns = dataset.select_columns(["idx", "context", "offsets", "answer"])
        self.references = {
            int(row["idx"]): (row["context"], row["offsets"], row["answer"]) for row in columns
        }

    def answer_text(self, idx: int, start: int, end: int) -> str:
        """The context text from sub-token `start` to sub-token `end` (inclusive)."""
        context, offsets, _ = self.references[idx]
        if start >= len(offsets) or end >= len(offsets) or offsets[start][0] < 0 or offsets[end][1] < 0:
            return ""  # a position outside the context (cannot happen with the head's context mask)
        return context[offsets[start][0] : offsets[end][1]]

    def update(self, start: torch.Tensor, end: torch.Tensor, idx: torch.Tensor) -> None:
        if not self.references:
            raise RuntimeError("SpanQAScore needs bind_references(val_dataset) before update")
        score = squad_f1 if self.score == "f1" else squad_exact_match
        scores = [
            score(self.answer_text(i, s, e), self.references[i][2])
            for s, e, i in zip(start.tolist(), end.tolist(), idx.tolist(), strict=True)
        ]
        self.total_score += sum(scores)
        self.count += len(scores)

    def compute(self) -> torch.Tensor:
        return (self.total_score / self.count.clamp(min=1)).float()
