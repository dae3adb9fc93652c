"""What tasks and models agree on: the batch type, the label values the losses and metrics skip, the
head base class, and the optional hooks a task's parts may implement. A leaf module: it imports
neither `stilts.tasks` nor `stilts.models`, and both import it (never each other).

A task's parts (reader, featurizer, head, metrics) are named by its yaml with `_target_`; the
pipeline calls an optional hook only when the part declares it by implementing the protocol below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

Batch = dict[str, torch.Tensor]

IGNORE_INDEX = -100  # label of positions no loss or metric scores (torch's cross_entropy default)
NO_LABEL = -1  # label of an unlabelled example (a test split) in classification batches
UNK_TAG = "<unk>"  # the tag of labels seen in dev but not in training (tagging tasks)


class Head(nn.Module):
    """A task head (docs/architecture.md): `forward(hidden[B,T,H], batch) -> logits`; it owns its
    `loss` and `predict`. `predict` returns the per-example tensors the task's metrics update with
    (`preds`, `target`, and any grouping keys a metric needs); they also go to predictions.jsonl.
    Heads are built as `head(hidden_size=..., labels=..., dropout=..., **yaml settings)`."""

    def forward(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def baseline_predict(self, batch: Batch, majority_label: int) -> dict[str, torch.Tensor] | None:
        """Predictions of the trivial majority-class model, for the degenerate-run check."""
        return None


@runtime_checkable
class BindsEncoder(Protocol):
    """A head that shares weights with the encoder (e.g. the MLM decoder tied to the embeddings)."""

    def bind_encoder(self, encoder: nn.Module) -> None: ...


@runtime_checkable
class BindsReferences(Protocol):
    """A metric scored on strings (SQuAD-style F1/EM): it looks up texts and gold answers by `idx` in
    the featurized dev split it is given before validation."""

    def bind_references(self, dataset: Any) -> None: ...


@runtime_checkable
class ReadsLabelSet(Protocol):
    """A reader of a task whose label set comes from its training data (`labels_from_train: true`)."""

    def label_set(self, task_dir: Path) -> list[str]: ...
