"""Forgetting in the analysis: measures per intermediate encoder, their correlation with transfer, and
the transfer matrix per control against forgetting.

Records carry their encoder's scalar measures as `forgetting/<name>` columns (stilts.forgetting.store)
and the control of their intermediate stage as `control`. Each intermediate encoder (control,
intermediate task, restart) is one data point; its transfer to a task is its run's score minus the mean
of the task's baseline runs, in points. Correlations are Spearman and Pearson with Holm-Bonferroni over
the whole measure x task table, as for the probing figures (stilts.analysis.correlations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from stilts.analysis.correlations import METHODS, Correlation, holm, pair
from stilts.analysis.results import BASELINE, FORGETTING_PREFIX, NO_CONTROL, finished_full_size
from stilts.analysis.transfer import (
    AVG_TARGET,
    BASELINE_COL,
    order_intermediates,
    order_tasks,
    transfer_matrix,
)

# Scalar measures, in table order: MLM loss under the pretrained head (and its increase over the
# pretrained encoder's), relative weight change of the whole encoder, CKA of the last layer and the
# mean CKA over layers.
MEASURES = ("mlm_loss", "mlm_loss_increase", "weight_change_all", "cka_last", "cka_mean")
# Correlated with transfer: the MLM loss only as its increase (the same ranks and r, one test not two).
CORRELATED = MEASURES[1:]
KEY = ["control", "intermediate", "restart"]  # one intermediate encoder


def measure_columns(frame: pd.DataFrame, measures: tuple[str, ...] = MEASURES) -> list[str]:
    """The `measures` the records carry (columns `forgetting/<measure>` with at least one value)."""
    cols = [FORGETTING_PREFIX + m for m in measures]
    return [c for c in cols if c in frame and frame[c].notna().any()]


def has_measures(frame: pd.DataFrame) -> bool:
    return bool(measure_columns(frame))


def unavailable_notes(frame: pd.DataFrame) -> list[str]:
    """A sentence per model whose records say why they hold no MLM loss (e.g. no trained MLM head)."""
    runs = finished_full_size(frame)
    if "mlm_unavailable" not in runs:
        return []
    why = runs[runs["mlm_unavailable"].notna()].groupby("model")["mlm_unavailable"].first()
    return [
        f"**The MLM-loss readout is unavailable for `{model or 'this model'}`** ({reason}): no MLM loss "
        "(nor its increase) is shown or correlated for it; weight change and CKA are."
        for model, reason in why.items()
    ]


def scatter_measure(frame: pd.DataFrame) -> str:
    """The measure the transfer scatter plot uses: the MLM loss increase, else the weight change."""
    available = measure_columns(frame, CORRELATED)
    return available[0].removeprefix(FORGETTING_PREFIX) if available else "weight_change_all"


def measure_table(frame: pd.DataFrame) -> pd.DataFrame:
    """(control, intermediate task) x measure, means over restarts; the baseline row is the pretrained
    encoder itself (its MLM loss is the reference; its change 0 and CKA 1 by construction)."""
    runs = finished_full_size(frame)
    cols = measure_columns(runs)
    encoders = runs.groupby(KEY)[cols].first()  # every run of an encoder carries the same measures
    table = encoders.groupby(["control", "intermediate"]).agg(["mean"]).droplevel(1, axis=1)
    table.columns = [c.removeprefix(FORGETTING_PREFIX) for c in table.columns]
    table["restarts"] = encoders.groupby(["control", "intermediate"]).size()
    order = {name: i for i, name in enumerate(order_intermediates(list(runs["intermediate"].unique())))}
    # `none` first in both levels: the plain runs, and the pretrained encoder as the reference row.
    position = sorted(table.index, key=lambda key: (key[0] != NO_CONTROL, key[0], order.get(key[1], -1)))
    return table.loc[position]


def delta_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Intermediate runs with `delta`: score minus the task's baseline mean, in points."""
    runs = finished_full_size(frame)
    baseline = runs[runs["intermediate"] == BASELINE].groupby("task")["main"].mean()
    inter = runs[runs["intermediate"] != BASELINE]
    inter = inter.assign(delta=(inter["main"] - inter["task"].map(baseline)) * 100)
    return inter[inter["delta"].notna()]


def forgetting_correlations(frame: pd.DataFrame, alpha: float = 0.05) -> dict[str, Correlation]:
    """Measure (rows) x task (columns) correlations between forgetting and transfer, per method."""
    deltas = delta_runs(frame)
    cols = measure_columns(deltas, CORRELATED)
    tasks = order_tasks(list(deltas["task"].unique()))
    tables = {}
    for method in METHODS:
        shape = (len(cols), len(tasks))
        r, p, n = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, dtype=int)
        for j, task in enumerate(tasks):
            runs = deltas[deltas["task"] == task]
            for i, col in enumerate(cols):
                r[i, j], p[i, j], n[i, j] = pair(runs[col], runs["delta"], method)
        index = pd.Index([c.removeprefix(FORGETTING_PREFIX) for c in cols], name="measure")

        def table(values: np.ndarray, index: pd.Index = index) -> pd.DataFrame:
            return pd.DataFrame(values, index=index, columns=tasks)

        tables[method] = Correlation(method, table(r), table(p), table(n), table(holm(p, alpha)))
    return tables


def plot_forgetting_scatter(frame: pd.DataFrame, measure: str) -> Figure:
    """Transfer (points) against one measure, one panel per task, one colour per control."""
    deltas = delta_runs(frame)
    col = FORGETTING_PREFIX + measure
    tasks = order_tasks(list(deltas["task"].unique()))
    controls = sorted(deltas["control"].unique(), key=lambda c: (c != NO_CONTROL, c))
    colours = dict(zip(controls, sns.color_palette(n_colors=len(controls)), strict=True))
    fig = Figure(figsize=(3.2 * len(tasks), 3.0))
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        for control in controls:
            runs = deltas[(deltas["task"] == task) & (deltas["control"] == control)]
            ax.scatter(runs[col], runs["delta"], s=18, label=control, color=colours[control])
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel(measure)
    axes[0].set_ylabel("transfer (points vs baseline)")
    axes[-1].legend(fontsize=7, title="control", title_fontsize=7)
    return fig


def plot_mlm_loss(table: pd.DataFrame) -> Figure:
    """MLM loss per intermediate task (from `measure_table`), one point per control, the pretrained
    encoder's loss as a dashed line."""
    loss = table["mlm_loss"].unstack("control")
    pretrained = loss.loc[BASELINE].dropna() if BASELINE in loss.index else pd.Series(dtype=float)
    loss = loss.drop(index=[BASELINE], errors="ignore")
    controls = sorted(loss.columns, key=lambda c: (c != NO_CONTROL, c))
    fig = Figure(figsize=(1.6 + 1.1 * len(loss), 3.2))
    ax = fig.add_subplot()
    width = 0.5 / max(1, len(controls))
    for k, control in enumerate(controls):  # points, not bars: the losses differ far from 0
        positions = np.arange(len(loss)) + (k - (len(controls) - 1) / 2) * width
        ax.scatter(positions, loss[control], s=40, marker="o", label=f"control: {control}")
    if len(pretrained):
        ax.axhline(float(pretrained.iloc[0]), color="black", linestyle="--", label="pretrained encoder")
    ax.set_xticks(np.arange(len(loss)), list(loss.index), rotation=20, fontsize=8)
    ax.set_ylabel("MLM loss on the held-out sample")
    ax.legend(fontsize=7)
    return fig


def control_matrices(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The transfer matrix (Figure 2) of each control's intermediate encoders against the same baseline."""
    runs = finished_full_size(frame)
    controls = sorted(runs.loc[runs["intermediate"] != BASELINE, "control"].unique())
    controls.sort(key=lambda c: c != NO_CONTROL)  # none first: the others are compared with it
    base = runs[runs["intermediate"] == BASELINE]
    return {c: transfer_matrix(pd.concat([base, runs[runs["control"] == c]])) for c in controls}


def transfer_counts(matrices: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per control: positive and negative transfer cells (intermediate x task deltas, avg_target left out),
    the mean delta and the mean of the negative ones, and the change of each against `none`."""
    rows = {}
    for control, matrix in matrices.items():
        deltas = matrix.drop(columns=[BASELINE_COL]).drop(index=[AVG_TARGET], errors="ignore")
        values = deltas.to_numpy(dtype=float).ravel()
        values = values[~np.isnan(values)]
        negative = values[values < 0]
        rows[control] = {
            "cells": len(values),
            "positive": int((values > 0).sum()),
            "negative": len(negative),
            "mean_delta": float(values.mean()) if len(values) else np.nan,
            "mean_negative_delta": float(negative.mean()) if len(negative) else np.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "control"
    if NO_CONTROL in table.index:
        for col in ("positive", "negative", "mean_delta"):
            table[f"{col}_change_vs_none"] = table[col] - table.loc[NO_CONTROL, col]
    return table
