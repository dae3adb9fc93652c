"""Metrics of the span tasks, as torchmetrics Metrics (sum states, so they are exact under DDP).

- Edge probing micro-F1 is torchmetrics' built-in `BinaryF1Score` on the multi-hot predictions of
  every (target, label) decision (it flattens them), named in the task yamls.
- `TokenAccuracy`: CCG supertagging accuracy over words (positions labelled -100 are not scored).
- `SpanQAScore`: SQuAD-normalised F1 or EM (lowercase, strip punctuation, drop a/an/the, collapse
  whitespace; F1 = token-overlap F1) between the predicted answer and the gold answer string, mean
  over examples. The predicted start/end sub-tokens become whitespace words of the context by
  jiant v1's rule (`jiant_word_span`). jiant's QAMR/QA-SRL score is (F1 + EM) / 2: the yamls name both as
  `main_metric`.
- `squad_f1` / `squad_exact_match`: the SQuAD v1.1 official rules, which jiant v1 uses for QAMR,
  QA-SRL and ReCoRD (jiant/metrics/span_metrics.py:10-58, "from official ReCoRD eval script"): F1 is
  0 whenever no token is shared, so also when the gold (or the prediction) normalises to empty.
  torchmetrics' `SQuAD` follows the SQuAD v2 no-answer rule instead (F1 1 when both normalise to
  empty), so stilts does not use it.
"""

from __future__ import annotations

import bisect
import re
import string
from collections import Counter
from collections.abc import Sequence
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


def jiant_word_span(start: int, end: int, token_words: Sequence[int]) -> tuple[int, int]:
    """jiant v1's decoding of independent start/end argmaxes (jiant/models.py:986-1013) into a
    half-open range of whitespace words of the passage.

    Args:
        start, end: the predicted sub-token positions, relative to the passage's first sub-token
            (jiant subtracts `start_offset`; -1 is the `<s>` before the passage).
        token_words: the whitespace word of each passage sub-token (jiant's
            `space_processed_token_map[k][2]`).

    The end is exclusive and forced to at least start + 1; both are clipped to the passage's last
    sub-token. jiant then reads the word of each position and joins `words[start_word:end_word]`,
    so an answer can never include the passage's last word, and a start and end inside one word
    give an empty answer. A start of -1 reads Python's last list entry, as jiant's indexing does.
    """
    if start < -len(token_words):
        raise ValueError(f"start {start} lies before the passage's <s>: jiant's decoding cannot read it")
    last = len(token_words) - 1
    start = min(start, last)
    end = min(max(end, start + 1), last)
    return token_words[start], token_words[end]


def word_of_token(context: str, word_starts: Sequence[int], begin: int, end: int) -> int:
    """The whitespace word a sub-token with characters [begin, end) belongs to.

    DeBERTa's and ModernBERT's pieces include the space before their word, so the first non-space
    character decides; a bare space or zero-width piece belongs to the word it precedes (jiant
    tokenised word by word, so each of its sub-tokens had one word, jiant/tasks/qa.py:822-832).
    """
    piece = context[begin:end]
    leading = len(piece) - len(piece.lstrip())
    if leading < len(piece):
        return bisect.bisect_right(word_starts, begin + leading) - 1
    return min(bisect.bisect_left(word_starts, end), len(word_starts) - 1)


def token_words(context: str, offsets: Sequence[Sequence[int]]) -> tuple[int, list[int]]:
    """(position of the context's first sub-token, whitespace word of each context sub-token) from a
    row's per-position character offsets (`[-1, -1]` outside the context)."""
    word_starts = [m.start() for m in re.finditer(r"\S+", context)]
    inside = [k for k, (begin, _) in enumerate(offsets) if begin >= 0]
    if not inside or not word_starts:
        return 0, []
    return inside[0], [word_of_token(context, word_starts, *offsets[k]) for k in inside]


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
        # idx -> (context, position of its first sub-token, word of each context sub-token, gold)
        self.references: dict[int, tuple[str, int, list[int], str]] = {}
        self.add_state("total_score", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def bind_references(self, dataset: datasets.Dataset) -> None:
        columns = dataset.select_columns(["idx", "context", "offsets", "answer"])
        self.references = {
            int(row["idx"]): (row["context"], *token_words(row["context"], row["offsets"]), row["answer"])
            for row in columns
        }

    def answer_text(self, idx: int, start: int, end: int) -> str:
        """The predicted answer: whitespace words of the context chosen from the predicted start and
        (exclusive) end sub-token positions by jiant's rule (`jiant_word_span`)."""
        context, first, words_of_tokens, _ = self.references[idx]
        if not words_of_tokens:
            return ""  # truncation left no context token
        begin, stop = jiant_word_span(start - first, end - first, words_of_tokens)
        return " ".join(context.split()[begin:stop])

    def update(self, start: torch.Tensor, end: torch.Tensor, idx: torch.Tensor) -> None:
        if not self.references:
            raise RuntimeError("SpanQAScore needs bind_references(val_dataset) before update")
        score = squad_f1 if self.score == "f1" else squad_exact_match
        scores = [
            score(self.answer_text(i, s, e), self.references[i][3])
            for s, e, i in zip(start.tolist(), end.tolist(), idx.tolist(), strict=True)
        ]
        self.total_score += sum(scores)
        self.count += len(scores)

    def compute(self) -> torch.Tensor:
        return (self.total_score / self.count.clamp(min=1)).float()
