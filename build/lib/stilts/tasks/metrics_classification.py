"""Classification metrics where torchmetrics' built-in differs from jiant v1 at the edges.

- `MatthewsCorrCoef`: jiant v1 scores CoLA with sklearn's `matthews_corrcoef`
  (jiant/allennlp_mods/correlation.py:82), which is 0 whenever the correlation is undefined (a
  constant predictor, or a dev set of one class). torchmetrics' `BinaryMatthewsCorrCoef` instead
  returns +-1 or a small epsilon-based value in those cases (a constant predictor on CoLA dev scores
  about +-0.026), so the degenerate-run check would not recognise it. Same confusion-matrix state,
  sklearn's formula in `compute`.
- `MacroF1AllClasses`: jiant v1 scores CB with the mean of three per-class F1s, one allennlp
  `F1Measure` per class (jiant/tasks/tasks.py:2622-2624, averaged at 2672-2677); a class absent from
  both predictions and gold has F1 0 there and still counts in the mean. torchmetrics'
  `MulticlassF1Score(average="macro")` leaves such a class out of the mean. Same stat-score state,
  the mean over all `num_classes` in `compute`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.classification import BinaryMatthewsCorrCoef, MulticlassF1Score


def matthews_from_confusion(confmat: Tensor) -> Tensor:
    """Matthews correlation of a (C, C) confusion matrix (rows gold, columns predicted), as sklearn's
    `matthews_corrcoef` computes it: 0 where the denominator is 0."""
    confmat = confmat.double()
    gold_totals, pred_totals = confmat.sum(dim=1), confmat.sum(dim=0)
    correct, total = torch.trace(confmat), confmat.sum()
    cov_gold_pred = correct * total - torch.dot(gold_totals, pred_totals)
    cov_pred_pred = total**2 - torch.dot(pred_totals, pred_totals)
    cov_gold_gold = total**2 - torch.dot(gold_totals, gold_totals)
    denominator = cov_pred_pred * cov_gold_gold
    if denominator == 0:
        return torch.tensor(0.0, device=confmat.device)
    return (cov_gold_pred / torch.sqrt(denominator)).float()


class MatthewsCorrCoef(BinaryMatthewsCorrCoef):
    """Binary Matthews correlation, 0 where undefined (sklearn / jiant v1); see the module docstring."""

    def compute(self) -> Tensor:
        return matthews_from_confusion(self.confmat)


class MacroF1AllClasses(MulticlassF1Score):
    """Unweighted mean of the per-class F1s over all `num_classes` classes; a class never predicted
    and never gold counts with F1 0 (jiant v1's CB F1); see the module docstring.

    Args:
        num_classes: number of classes (every one counts in the mean).
    """

    def __init__(self, num_classes: int, **kwargs: object) -> None:
        if "average" in kwargs:
            raise ValueError("MacroF1AllClasses always averages over all classes: drop `average`")
        super().__init__(num_classes=num_classes, average="none", **kwargs)  # type: ignore[arg-type]

    def compute(self) -> Tensor:
        tp, fp, _, fn = self._final_state()
        denominator = (2 * tp + fp + fn).double()
        per_class = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), 0.0)
        return per_class.mean().float()
