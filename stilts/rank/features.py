"""Encoder features of a task's examples, in the form each head type sees them.

How features (one row per decision the head makes) and labels are formed, by head type:

- classification (`ClassificationHead`), MultiRC (`GroupedBinaryHead`), ReCoRD
  (`CandidateScoringHead`): the first token's final state of each sequence; the label is the
  class id (MultiRC: is this answer option true; ReCoRD: is this candidate a gold answer).
- multiple choice (`MultipleChoiceHead`): one row per real choice (the first token's state of
  the context+choice sequence); label 1 for the correct choice, 0 for the others.
- marked words (WiC: `choice_heads.MarkedSpanHead`): [first token; mean of span 1;
  mean of span 2], the head's own input; the label is the class id.
- span pairs (WSC: `choice_heads.SpanClassifierHead`): [mean of span 1; mean of span 2]. The head
  pools each span by a learned projection and attention, which an untrained head does not have; the
  mean of the span's token states stands in for it. The label is the class id.
- token tagging (`TokenTaggingHead`): one row per word (its first sub-token's state, as the head
  labels it); the label is the tag id.
- refused: extractive QA (`SpanQAHead`: the answer is a start/end position pair over the passage,
  not a label of one feature row), edge probing (`span_heads.EdgeProbingHead`: multi-label
  span sets) and masked LM.

Rows whose label is unknown (negative) are dropped. Encoders run where they are (methods put
them on the GPU when there is one); features come back as float64 numpy arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import datasets
import numpy as np
import torch
from torch.utils.data import DataLoader

from stilts.errors import StiltsError
from stilts.models.choice_heads import mean_pool_span
from stilts.models.module import ENCODER_INPUTS

log = logging.getLogger(__name__)
Batch = dict[str, torch.Tensor]
Rows = tuple[torch.Tensor, torch.Tensor]


class RankError(StiltsError):
    """A ranking cannot be computed as asked; the message names the task or key and says why."""


def _first_token(hidden: torch.Tensor, batch: Batch) -> Rows:
    return hidden[:, 0], batch["label"]


def _choices(hidden: torch.Tensor, batch: Batch) -> Rows:
    mask = batch["choice_mask"]
    first = hidden[:, 0].view(*mask.shape, -1)
    correct = torch.arange(mask.shape[1], device=mask.device)[None, :] == batch["label"][:, None]
    labels = torch.where(batch["label"][:, None] >= 0, correct.long(), -1)
    return first[mask], labels[mask]


def _span_pair(hidden: torch.Tensor, batch: Batch) -> Rows:
    parts = [hidden[:, 0]]
    for k in (1, 2):
        parts.append(mean_pool_span(hidden, batch[f"span{k}_start"], batch[f"span{k}_end"]))
    return torch.cat(parts, dim=-1), batch["label"]


def _spans(hidden: torch.Tensor, batch: Batch) -> Rows:
    parts = [mean_pool_span(hidden, batch[f"span{k}_start"], batch[f"span{k}_end"]) for k in (1, 2)]
    return torch.cat(parts, dim=-1), batch["label"]


def _tags(hidden: torch.Tensor, batch: Batch) -> Rows:
    labels = batch["tag_labels"]
    return hidden[labels >= 0], labels[labels >= 0]


ROW_MAKERS: dict[str, Callable[[torch.Tensor, Batch], Rows]] = {
    "stilts.models.heads.ClassificationHead": _first_token,
    "stilts.models.choice_heads.GroupedBinaryHead": _first_token,
    "stilts.models.choice_heads.CandidateScoringHead": _first_token,
    "stilts.models.choice_heads.MultipleChoiceHead": _choices,
    "stilts.models.choice_heads.MarkedSpanHead": _span_pair,
    "stilts.models.choice_heads.SpanClassifierHead": _spans,
    "stilts.models.span_heads.TokenTaggingHead": _tags,
}
REFUSED = {
    "stilts.models.span_heads.SpanQAHead": "extractive QA answers are start/end positions over the "
    "passage, not one label per feature row",
    "stilts.models.span_heads.EdgeProbingHead": "edge-probing targets are multi-label sets of "
    "spans per sentence; label-based estimators here take one label per row",
    "stilts.models.mlm_head.MaskedLMHead": "masked LM has no labels to rank transfer by",
}


def row_maker(task: str, head_target: str) -> Callable[[torch.Tensor, Batch], Rows]:
    """The feature/label rule of a task's head, or a RankError that says why it has none."""
    if head_target in ROW_MAKERS:
        return ROW_MAKERS[head_target]
    why = REFUSED.get(head_target, "no feature rule is defined for this head type")
    raise RankError(
        f"task `{task}` (head {head_target}): label-based ranking (logme, hscore) is not supported: "
        f"{why}. Use method=semb, which needs only the task's text."
    )


@dataclass
class Encoded:
    """Feature rows with their labels, and how many sequences the encoder read to make them."""

    features: np.ndarray
    labels: np.ndarray
    sequences: int


def sample(dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
    """At most `limit` examples, a seeded random subset when there are more."""
    if limit is None or len(dataset) <= limit:
        return dataset
    return dataset.shuffle(seed=seed).select(range(limit))


def _batches(
    dataset: datasets.Dataset, collate: Callable, batch_size: int, device: torch.device
) -> Iterator[Batch]:
    """The dataset's batches in order, tensors on `device` (the encoder's)."""
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate):
        yield {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def encode_rows(
    encoder: torch.nn.Module,
    dataset: datasets.Dataset,
    collate: Callable,
    rows: Callable[[torch.Tensor, Batch], Rows],
    batch_size: int = 64,
) -> Encoded:
    """Feature rows and labels of `dataset` under `encoder` (eval mode, no dropout)."""
    encoder.eval()
    features, labels, sequences = [], [], 0
    for batch in _batches(dataset, collate, batch_size, next(encoder.parameters()).device):
        inputs = {k: batch[k] for k in ENCODER_INPUTS if k in batch}
        hidden = encoder(**inputs).last_hidden_state
        sequences += int(inputs["input_ids"].shape[0])
        feats, labs = rows(hidden, batch)
        keep = labs >= 0
        features.append(feats[keep].double().cpu().numpy())
        labels.append(labs[keep].cpu().numpy())
    return Encoded(np.concatenate(features), np.concatenate(labels), sequences)


@torch.no_grad()
def mean_embedding(
    encoder: torch.nn.Module, dataset: datasets.Dataset, collate: Callable, batch_size: int = 64
) -> tuple[np.ndarray, int]:
    """The mean over sequences of each sequence's mean-pooled final states (padding excluded),
    as SEmb does (Poth et al., 2021); returns it and the number of sequences read."""
    encoder.eval()
    total, sequences = None, 0
    for batch in _batches(dataset, collate, batch_size, next(encoder.parameters()).device):
        inputs = {k: batch[k] for k in ENCODER_INPUTS if k in batch}
        hidden = encoder(**inputs).last_hidden_state.double()
        mask = inputs["attention_mask"].double()[..., None]
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        total = pooled.sum(0) if total is None else total + pooled.sum(0)
        sequences += int(pooled.shape[0])
    if total is None:
        raise RankError("no examples to embed")
    return (total / sequences).cpu().numpy(), sequences
