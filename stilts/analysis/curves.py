"""Figure 6 data (score against intermediate training-set size) and the degenerate-runs tables."""

from __future__ import annotations

import pandas as pd

from stilts.analysis.order import order_tasks
from stilts.analysis.records import BASELINE
from stilts.analysis.results import capped_sizes, finished_full_size
from stilts.analysis.settings import label_controls, order_labels

RUN_COLUMNS = [
    "intermediate",
    "control",
    "task",
    "restart",
    "lr",
    "dropout",
    "main",
    "majority_baseline",
    "nan_loss",
    "path",
]


def size_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over restarts of each (intermediate, task, intermediate_train_size), in points.

    Only finished runs launched by a size-curve experiment (with `intermediate_train_size`) count; the
    full-size runs have no size in their record and belong to Figure 2, as do the runs of an
    intermediate task trained on one capped size only (`results.capped_sizes`).

    Returns:
        Columns intermediate, task, intermediate_train_size, mean, std, restarts; empty if no such runs.
    """
    sized = (frame["status"] == "finished") & frame["intermediate_train_size"].notna()
    runs = label_controls(frame[sized & ~frame["intermediate"].isin(capped_sizes(frame).index)])
    if runs.empty:
        return pd.DataFrame(
            columns=["intermediate", "task", "intermediate_train_size", "mean", "std", "restarts"]
        )
    table = (
        runs.assign(
            score=runs["main"] * 100, intermediate_train_size=runs["intermediate_train_size"].astype(int)
        )
        .groupby(["intermediate", "task", "intermediate_train_size"])["score"]
        .agg(mean="mean", std="std", restarts="count")
        .reset_index()
    )
    rank_i = {n: i for i, n in enumerate(order_labels(list(table["intermediate"])))}
    rank_t = {n: i for i, n in enumerate(order_tasks(list(table["task"])))}
    return table.sort_values(
        ["intermediate", "task", "intermediate_train_size"],
        key=lambda col: (
            col.map(rank_i) if col.name == "intermediate" else col.map(rank_t) if col.name == "task" else col
        ),
        ignore_index=True,
    )


def degenerate_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Finished runs flagged degenerate (not above the majority-class / chance score), paper order."""
    runs = frame[(frame["status"] == "finished") & frame["degenerate"].astype(bool)]
    rank = {t: i for i, t in enumerate(order_tasks(list(frame["task"])))}
    return runs.sort_values(
        ["task", "intermediate", "restart"], key=lambda c: c.map(rank) if c.name == "task" else c
    )[RUN_COLUMNS].reset_index(drop=True)


def degenerate_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Degenerate-run counts by task (rows) x intermediate (columns, `none` first, one per control) over
    finished runs.

    Every task and intermediate with a finished run appears, so zeros are explicit; a `total` column
    sums each row.
    """
    runs = label_controls(frame[frame["status"] == "finished"])
    tasks = order_tasks(list(runs["task"]))
    inters = (["none"] if (runs["intermediate"] == "none").any() else []) + order_labels(
        list(runs["intermediate"])
    )
    counts = pd.crosstab(
        runs["task"], runs["intermediate"], values=runs["degenerate"].astype(int), aggfunc="sum"
    )
    counts = counts.reindex(index=tasks, columns=inters).fillna(0).astype(int)
    counts["total"] = counts.sum(axis=1)
    counts.index.name, counts.columns.name = "task", None
    return counts


def baseline_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task (one row per setting): the baseline runs' mean score and standard deviation over restarts,
    the task's majority-class (or chance) score from its records, the margin above it (points), the
    number of baseline runs and how many of them were degenerate."""
    runs = finished_full_size(frame)
    base = runs[runs["intermediate"] == BASELINE]
    if base.empty:
        return pd.DataFrame(
            columns=["baseline", "std", "majority_class", "above_majority", "runs", "degenerate"]
        )
    table = base.groupby("task").agg(
        baseline=("main", "mean"),
        std=("main", "std"),
        majority_class=("majority_baseline", "mean"),
        runs=("main", "size"),
        degenerate=("degenerate", "sum"),
    )
    for col in ("baseline", "std", "majority_class"):
        table[col] = table[col] * 100
    table.insert(3, "above_majority", table["baseline"] - table["majority_class"])
    table["degenerate"] = table["degenerate"].astype(int)
    return table.loc[order_tasks(list(table.index))]
