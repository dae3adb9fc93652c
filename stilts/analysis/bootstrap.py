"""Paired bootstrap CIs of the transfer matrix's deltas, on each task's own main metric.

Each resample draws dev examples with replacement (the same draw for every run of a task, so the
intermediate and baseline runs stay paired), recomputes every run's main score on it (accuracy, F1,
macro F1 or MCC, or the mean of several, as the record's `main_metric` names) from its confusion
matrix weighted by the draw, and takes the mean over restarts of the intermediate runs minus that of
the baseline runs. A task gets no interval, with the reason, when its metric cannot be recomputed
from per-example labels (span F1, multi-label edge probing) or when the recomputed score of a run
differs from the `main` its record holds: the interval is never on another metric than the matrix.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stilts.analysis.order import order_intermediates, order_tasks
from stilts.analysis.records import BASELINE
from stilts.analysis.results import finished_full_size, prediction_rows

log = logging.getLogger(__name__)

AGREEMENT = 1e-4  # recomputed and recorded main scores must agree this closely (fractions, not points)
LEGACY_METRIC = "acc"  # records written before `main_metric` was recorded scored accuracy


def accuracy(confusion: np.ndarray) -> np.ndarray:
    """Accuracy of confusion matrices [..., K, K] (rows gold, columns predicted)."""
    return np.trace(confusion, axis1=-2, axis2=-1) / confusion.sum(axis=(-2, -1))


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """[..., K] F1 of each class; 0 where the class is neither gold nor predicted (jiant / torchmetrics)."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    denominator = confusion.sum(axis=-1) + confusion.sum(axis=-2)  # 2tp + fn + fp
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-300), 0.0)


def binary_f1(confusion: np.ndarray) -> np.ndarray:
    """F1 of class 1 (torchmetrics' BinaryF1Score), for two-class confusion matrices only."""
    if confusion.shape[-1] != 2:
        raise ValueError("binary F1 needs two classes")
    return per_class_f1(confusion)[..., 1]


def macro_f1(confusion: np.ndarray) -> np.ndarray:
    """Mean F1 over every class of the matrix (stilts.tasks.metrics_classification.MacroF1AllClasses)."""
    return per_class_f1(confusion).mean(axis=-1)


def matthews(confusion: np.ndarray) -> np.ndarray:
    """Matthews correlation with sklearn's multiclass formula; 0 where undefined."""
    gold, pred = confusion.sum(axis=-1), confusion.sum(axis=-2)
    total = confusion.sum(axis=(-2, -1))
    correct = np.trace(confusion, axis1=-2, axis2=-1)
    cov_gp = correct * total - (gold * pred).sum(axis=-1)
    cov_pp = total**2 - (pred * pred).sum(axis=-1)
    cov_gg = total**2 - (gold * gold).sum(axis=-1)
    denominator = np.sqrt(cov_pp * cov_gg)
    return np.where(denominator > 0, cov_gp / np.maximum(denominator, 1e-300), 0.0)


# Metric names of the task yamls (conf/task*) whose score follows from a confusion matrix.
METRICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "acc": accuracy,
    "accuracy": accuracy,
    "f1": binary_f1,
    "f1_macro": macro_f1,
    "mcc": matthews,
}


def main_score(confusion: np.ndarray, names: list[str]) -> np.ndarray:
    """The mean of the named metrics (the paper's score for `main_metric: [acc, f1]`)."""
    return np.mean([METRICS[name](confusion) for name in names], axis=0)


def read_labels(path: str | Path) -> pd.DataFrame | None:
    """`preds` and `target` of a predictions.jsonl by `idx`; None unless both are integer class labels."""
    rows = {}
    for idx, pred, gold in prediction_rows(path):
        if not all(isinstance(v, int) and v >= 0 for v in (pred, gold)):
            return None  # bools are ints: True/False labels count as classes 1/0
        rows[idx] = (int(pred), int(gold))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["preds", "target"]).sort_index()


@dataclass(frozen=True)
class TaskLabels:
    """Runs x examples predictions of one task on the examples all its runs share, and the gold labels."""

    preds: np.ndarray
    target: np.ndarray
    classes: int

    def confusion(self, weights: np.ndarray) -> np.ndarray:
        """Confusion matrices [draws, runs, K, K] with each example weighted by `weights` [draws, n]."""
        k = self.classes
        codes = self.target[None, :] * k + self.preds  # runs x n
        onehot = np.zeros((*codes.shape, k * k))
        np.put_along_axis(onehot, codes[..., None], 1.0, axis=-1)
        flat = np.einsum("bn,rnc->brc", weights, onehot)
        return flat.reshape(*flat.shape[:2], k, k)


def task_labels(paths: list[str]) -> tuple[TaskLabels | None, str]:
    """The labels of a task's runs, or None and why they cannot be compared per example."""
    frames = [read_labels(p) for p in paths]
    if any(f is None for f in frames):
        return None, "predictions are not integer class labels"
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    if len(common) == 0:
        return None, "the runs share no dev example"
    targets = np.vstack([f.loc[common, "target"].to_numpy() for f in frames])
    if (targets != targets[0]).any():
        return None, "the runs disagree on gold labels"
    preds = np.vstack([f.loc[common, "preds"].to_numpy() for f in frames])
    classes = int(max(preds.max(), targets.max())) + 1
    return TaskLabels(preds, targets[0], max(classes, 2)), ""


def metric_names(group: pd.DataFrame) -> tuple[list[str], str]:
    """The task's main metric names, or [] and why they cannot be recomputed."""
    found = set(group["main_metric"].fillna("")) if "main_metric" in group else {""}
    if len(found) > 1:
        return [], f"runs name different main metrics {sorted(found)}"
    names = (found.pop() or LEGACY_METRIC).split("+")
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        return [], f"main metric {'+'.join(names)} is not computable from class labels"
    return names, ""


@dataclass(frozen=True)
class Bootstrap:
    """Paired bootstrap of the per-cell deltas (points) on each task's main metric."""

    delta: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)  # task, intermediate, metric, run counts
    skipped: dict[str, str] = field(default_factory=dict)  # task -> why it has no interval

    @property
    def significant(self) -> pd.DataFrame:
        """True where the 95% CI excludes 0."""
        return (self.low > 0) | (self.high < 0)

    def long(self) -> pd.DataFrame:
        """One row per (task, intermediate): metric, delta, CI, significance, runs on each side."""
        parts = {
            "delta": self.delta,
            "ci_low": self.low,
            "ci_high": self.high,
            "significant": self.significant.where(self.delta.notna()),
        }
        table = pd.concat({k: v.stack() for k, v in parts.items()}, axis=1)
        table.index.names = ["task", "intermediate"]
        table = table.reset_index()
        if self.cells.empty:
            return table
        return table.merge(self.cells, on=["task", "intermediate"], how="left")[
            [
                "task",
                "intermediate",
                "metric",
                "delta",
                "ci_low",
                "ci_high",
                "significant",
                "runs",
                "baseline_runs",
            ]
        ]


def task_bootstrap(group: pd.DataFrame, resamples: int, rng: np.random.Generator) -> tuple[dict, str]:
    """{intermediate: (delta, low, high, metric, runs, baseline runs)} for one task's runs, or {} and why."""
    names, reason = metric_names(group)
    if not names:
        return {}, reason
    labels, reason = task_labels(list(group["predictions"]))
    if labels is None:
        return {}, reason
    if "f1" in names and labels.classes != 2:
        return {}, f"binary F1 on {labels.classes} classes"
    n = labels.target.size
    point = main_score(labels.confusion(np.ones((1, n))), names)[0]
    recorded = group["main"].to_numpy(dtype=float)
    worst = float(np.nanmax(np.abs(point - recorded)))
    if worst > AGREEMENT:
        return {}, f"scores recomputed from predictions differ from the records' `main` by up to {worst:.4g}"
    block = max(1, min(resamples, 2_000_000 // (n * len(group) * labels.classes**2)))
    draws = []
    for start in range(0, resamples, block):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(block, resamples - start))
        draws.append(main_score(labels.confusion(counts.astype(float)), names))
    scores = np.vstack(draws)  # resamples x runs
    is_base = (group["intermediate"] == BASELINE).to_numpy()
    out = {}
    for name in order_intermediates(list(group["intermediate"])):
        pick = (group["intermediate"] == name).to_numpy()
        deltas = (scores[:, pick].mean(axis=1) - scores[:, is_base].mean(axis=1)) * 100.0
        low, high = np.percentile(deltas, [2.5, 97.5])
        delta = (point[pick].mean() - point[is_base].mean()) * 100.0
        out[name] = (delta, low, high, "+".join(names), int(pick.sum()), int(is_base.sum()))
    return out, ""


def bootstrap_deltas(frame: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> Bootstrap:
    """Paired bootstrap CIs for each (task, intermediate) delta on the task's main metric.

    Args:
        frame: Deduplicated results with a `predictions` path per run (rows without one are skipped).
        resamples: Bootstrap resamples.
        seed: Base seed; each task's draws are seeded by (seed, task name), so adding tasks changes nothing.

    Returns:
        Frames shaped like the transfer matrix's delta part (tasks x intermediates), NaN where missing;
        `skipped` names each task left without intervals and why.
    """
    runs = finished_full_size(frame)
    runs = runs[runs["predictions"].notna()]
    cells: dict[tuple[str, str], tuple] = {}
    skipped: dict[str, str] = {}
    for task, group in runs.groupby("task"):
        if not (group["intermediate"] == BASELINE).any():
            continue
        rng = np.random.default_rng([seed, zlib.crc32(str(task).encode())])
        found, reason = task_bootstrap(group, resamples, rng)
        if reason:
            skipped[str(task)] = reason
            log.info("bootstrap: no CIs for %s: %s", task, reason)
        cells.update({(str(task), name): values for name, values in found.items()})
    columns = ["delta", "low", "high", "metric", "runs", "baseline_runs"]
    table = pd.DataFrame.from_dict(cells, orient="index", columns=columns)
    frames = {}
    for key in ("delta", "low", "high"):
        series = table[key].astype(float) if len(table) else pd.Series(dtype=float)
        if len(table):
            series.index = pd.MultiIndex.from_tuples(series.index)
        wide = series.unstack() if len(series) else pd.DataFrame(dtype=float)
        frames[key] = wide.reindex(
            index=order_tasks(list(wide.index)), columns=order_intermediates(list(wide.columns))
        )
    info = pd.DataFrame(
        [(t, i, *v[3:]) for (t, i), v in cells.items()],
        columns=["task", "intermediate", "metric", "runs", "baseline_runs"],
    )
    return Bootstrap(**frames, cells=info, skipped=skipped)
