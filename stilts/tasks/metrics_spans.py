"""Metrics of the span tasks, as torchmetrics Metrics (sum states, so they are exact under DDP).

- Edge probing micro-F1 is torchmetrics' built-in `BinaryF1Score` on the multi-hot predictions of
  every (target, label) decision (it flattens them), named in the task yamls.
- `TokenAccuracy`: CCG supertagging accuracy over words (positions labelled -100 are not scored).
- `SpanQAScore`: SQuAD-normalised F1 or EM (lowercase, strip punctuation, drop a/an/the, collapse
  whitespace; F1 = token-overlap F1) between the predicted sub-token span's text and the gold answer
  string, mean over examples; built on torchmetrics' `SQuAD` (which reports 0-100; stilts 0-1).
  jiant's QAMR/QA-SRL score is (F1 + EM) / 2: the yamls name both as `main_metric`.
"""

from __future__ import annotations

from typing import Any

import datasets
import torch
from torchmetrics import Metric
from torchmetrics.text import SQuAD

IGNORE = -100


class TokenAccuracy(Metric):
    """Fraction of scored positions (target != -100) whose prediction equals the target."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, ignore_index: int = IGNORE, **kwargs: Any) -> None:
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


class SpanQAScore(SQuAD):
    """SQuAD F1 or EM of predicted spans against the gold answer of each example.

    `bind_references` (called by stilts.stage with the featurized dev set) gives, per `idx`, the
    context string, each sub-token's character offsets in it and the gold answer string.

    Args:
        score: `f1` or `em`.
    """

    def __init__(self, score: str = "f1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score not in ("f1", "em"):
            raise ValueError(f"score must be `f1` or `em`, got {score!r}")
        self.score = score
        self.references: dict[int, tuple[str, list[list[int]], str]] = {}

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

    def update(self, start: torch.Tensor, end: torch.Tensor, idx: torch.Tensor) -> None:  # type: ignore[override]
        if not self.references:
            raise RuntimeError("SpanQAScore needs bind_references(val_dataset) before update")
        preds, target = [], []
        for s, e, i in zip(start.tolist(), end.tolist(), idx.tolist(), strict=True):
            preds.append({"prediction_text": self.answer_text(i, s, e), "id": str(i)})
            target.append({"answers": {"answer_start": [0], "text": [self.references[i][2]]}, "id": str(i)})
        super().update(preds, target)

    def compute(self) -> torch.Tensor:  # type: ignore[override]
        scores = super().compute()
        return scores["f1" if self.score == "f1" else "exact_match"] / 100.0
