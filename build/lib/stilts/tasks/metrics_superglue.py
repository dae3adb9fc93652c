"""Metrics of MultiRC and ReCoRD (SuperGLUE), as jiant v1 scores them.

- MultiRC: F1a = binary F1 over all answer options pooled (the built-in
  `torchmetrics.classification.BinaryF1Score`) and EM = share of questions whose every answer
  option is predicted right (`GroupExactMatch`); paper score (F1a + EM) / 2.
- ReCoRD: per query, the highest-scoring candidate entity is the prediction; token F1 and exact
  match against the best-matching gold answer under the SQuAD v1.1 rules (`squad_f1`,
  `squad_exact_match` of stilts.tasks.metrics_spans), averaged over queries (`RecordScore`); paper
  score (F1 + EM) / 2. Ties as jiant v1 breaks them (jiant/tasks/qa.py:384-389): candidates are
  sorted by their text, then the first of the highest scores wins.

Both keep per-example rows as `cat` states, so a question or query split over batches or DDP ranks is
scored whole.
"""

from __future__ import annotations

from typing import Any

import datasets
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from stilts.tasks.metrics_spans import squad_exact_match, squad_f1


def _empty(state: Any) -> bool:
    return isinstance(state, list) and not state


class GroupExactMatch(Metric):
    """Share of groups (MultiRC questions) whose every member is predicted right."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("group", default=[], dist_reduce_fx="cat")
        self.add_state("correct", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, target: torch.Tensor, group: torch.Tensor) -> None:
        """Record, per answer option, its question and whether it was predicted right."""
        known = target >= 0
        self.group.append(group[known].long())
        self.correct.append((preds[known] == target[known]).long())

    def compute(self) -> torch.Tensor:
        if _empty(self.group):
            return torch.tensor(0.0)
        group, correct = dim_zero_cat(self.group), dim_zero_cat(self.correct)
        questions, inverse = torch.unique(group, return_inverse=True)
        all_right = torch.ones(len(questions), dtype=torch.long, device=correct.device)
        all_right = all_right.scatter_reduce(0, inverse, correct, reduce="amin")
        return all_right.float().mean()


class RecordScore(Metric):
    """ReCoRD token F1 or exact match of each query's best-scoring candidate, max over gold answers.

    Call `bind_references(val_dataset)` first: the featurized rows (one per candidate) give the
    candidate texts by (`idx`, `candidate`) and the gold answers by `idx`.

    Args:
        kind: `f1` or `em`.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, kind: str = "f1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if kind not in ("f1", "em"):
            raise ValueError(f"kind must be `f1` or `em`, got {kind!r}")
        self.kind = kind
        self.candidates: dict[tuple[int, int], str] = {}
        self.answers: dict[int, list[str]] = {}
        self.add_state("idx", default=[], dist_reduce_fx="cat")
        self.add_state("candidate", default=[], dist_reduce_fx="cat")
        self.add_state("scores", default=[], dist_reduce_fx="cat")

    def bind_references(self, dataset: datasets.Dataset) -> None:
        """Look-up tables from the featurized validation set (columns idx, candidate, candidate_text,
        answers)."""
        columns = dataset.select_columns(["idx", "candidate", "candidate_text", "answers"])
        for row in columns.iter(batch_size=10_000):
            for idx, number, text, answers in zip(
                row["idx"], row["candidate"], row["candidate_text"], row["answers"], strict=True
            ):
                self.candidates[(idx, number)] = text
                self.answers[idx] = answers

    def update(self, scores: torch.Tensor, idx: torch.Tensor, candidate: torch.Tensor) -> None:
        """Record each candidate's score."""
        self.idx.append(idx.long())
        self.candidate.append(candidate.long())
        self.scores.append(scores.float())

    def best_candidates(self) -> dict[int, str]:
        """Query idx -> text of its highest-scoring candidate. Ties go to the candidate whose text
        sorts first (jiant v1 sorts a query's candidates by text, then takes the first argmax)."""
        if _empty(self.idx):
            return {}
        rows = zip(
            dim_zero_cat(self.idx).tolist(),
            dim_zero_cat(self.candidate).tolist(),
            dim_zero_cat(self.scores).tolist(),
            strict=True,
        )
        best: dict[int, tuple[float, str]] = {}
        for idx, number, score in rows:
            text = self.candidates[(idx, number)]
            if idx not in best or score > best[idx][0] or (score == best[idx][0] and text < best[idx][1]):
                best[idx] = (score, text)
        return {idx: text for idx, (_, text) in best.items()}

    def compute(self) -> torch.Tensor:
        if not self.candidates and not _empty(self.idx):
            raise RuntimeError("RecordScore needs bind_references(val_dataset) before compute()")
        chosen = {idx: text for idx, text in self.best_candidates().items() if self.answers.get(idx)}
        if not chosen:
            return torch.tensor(0.0)
        score = squad_f1 if self.kind == "f1" else squad_exact_match
        per_query = [max(score(text, gold) for gold in self.answers[idx]) for idx, text in chosen.items()]
        return torch.tensor(sum(per_query) / len(per_query), dtype=torch.float32)
