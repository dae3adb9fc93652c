"""Figures: transfer heatmap (Figure 2), correlation heatmaps (Figures 3-5), size curves (Figure 6).

Figures are built on `matplotlib.figure.Figure` without pyplot, so nothing depends on a GUI backend
or on pyplot's global figure list (the CLI makes many figures in one process).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from stilts.analysis.correlations import Correlation
from stilts.analysis.order import task_group
from stilts.analysis.transfer import AVG_TARGET, BASELINE_COL

FORMATS = ("png", "pdf")
DIVERGING = "RdBu"  # red = hurts, blue = helps, white = 0


def save_figure(fig: Figure, out: Path, stem: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write `fig` as out/<stem>.<fmt> for each format and return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{fmt}" for fmt in formats]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return paths


def group_breaks(index: list[str]) -> list[int]:
    """Row positions where a new group starts (targets | avg_target | each probing family)."""
    labels = ["avg" if t == AVG_TARGET else task_group(t) for t in index]
    return [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]


def delta_limit(deltas: pd.DataFrame) -> float:
    """Symmetric colour limit: 95th percentile of |delta|, so a few collapses (-90) do not wash out others."""
    values = np.abs(deltas.to_numpy(dtype=float))
    values = values[~np.isnan(values)]
    return max(1.0, float(np.percentile(values, 95))) if values.size else 1.0


def plot_transfer(matrix: pd.DataFrame, significant: pd.DataFrame | None = None, title: str = "") -> Figure:
    """Figure 2 heatmap: baseline column (uncoloured) beside the deltas (diverging, centred at 0).

    Args:
        matrix: From `transfer_matrix` or `load_paper_matrix` (points).
        significant: Boolean tasks x intermediates; True cells get a `*` (95% bootstrap CI excludes 0).
        title: Figure title.
    """
    deltas = matrix.drop(columns=[BASELINE_COL])
    labels = deltas.map(lambda v: "" if pd.isna(v) else f"{round(v, 1) + 0.0:+.1f}")  # + 0.0: no "-0.0"
    if significant is not None:
        marks = significant.reindex_like(deltas).fillna(False).astype(bool)
        labels = labels + marks.map(lambda s: "*" if s else "")
    width = 1.6 + 0.62 * (deltas.shape[1] + 1)
    fig = Figure(figsize=(width, 1.4 + 0.3 * len(matrix)))
    grid = fig.add_gridspec(1, 3, width_ratios=[1.1, max(deltas.shape[1], 1), 0.3], wspace=0.05)
    ax_base, ax_delta, ax_bar = (fig.add_subplot(grid[0, i]) for i in range(3))
    annot = {"fontsize": 7}
    sns.heatmap(
        matrix[[BASELINE_COL]],
        ax=ax_base,
        cmap=ListedColormap(["#eeeeee"]),
        cbar=False,
        annot=True,
        fmt=".1f",
        annot_kws=annot,
        linewidths=0.5,
        linecolor="white",
    )
    if deltas.shape[1]:
        lim = delta_limit(deltas)
        sns.heatmap(
            deltas,
            ax=ax_delta,
            cmap=DIVERGING,
            center=0,
            vmin=-lim,
            vmax=lim,
            annot=labels,
            fmt="",
            annot_kws=annot,
            linewidths=0.5,
            linecolor="white",
            cbar_ax=ax_bar,
            cbar_kws={"label": "delta vs baseline (points)"},
            yticklabels=False,
        )
    else:
        ax_bar.set_axis_off()
    ax_base.set_ylabel("")
    ax_base.set_xlabel("")
    ax_delta.set_ylabel("")
    ax_delta.set_xlabel("intermediate task")
    ax_delta.tick_params(axis="x", labelrotation=60)
    for pos in group_breaks(list(matrix.index)):
        for ax in (ax_base, ax_delta):
            ax.axhline(pos, color="black", linewidth=1.2)
    if title:
        ax_delta.set_title(title, fontsize=9)
    return fig


def plot_correlation(corr: Correlation, title: str) -> Figure:
    """Heatmap of significant coefficients (Holm-corrected); insignificant cells are blank."""
    shown = corr.shown
    fig = Figure(figsize=(1.8 + 0.55 * shown.shape[1], 1.4 + 0.35 * shown.shape[0]))
    ax = fig.add_subplot()
    sns.heatmap(
        shown,
        ax=ax,
        cmap=DIVERGING,
        center=0,
        vmin=-1,
        vmax=1,
        annot=True,
        fmt=".2f",
        annot_kws={"fontsize": 7},
        linewidths=0.5,
        linecolor="#dddddd",
        cbar_kws={"label": f"{corr.method} r"},
    )
    # A grey background marks blank (insignificant or untestable) cells as absent, not as zero.
    ax.set_facecolor("#f4f4f4")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title, fontsize=9)
    return fig


def plot_size_curves(curves: pd.DataFrame) -> Figure:
    """Figure 6: score (points) against intermediate training-set size, one panel per intermediate task."""
    inters = list(dict.fromkeys(curves["intermediate"]))
    fig = Figure(figsize=(4.2 * len(inters), 3.4))
    axes = fig.subplots(1, len(inters), squeeze=False)[0]
    tasks = list(dict.fromkeys(curves["task"]))
    colours = dict(zip(tasks, sns.color_palette(n_colors=len(tasks)), strict=True))
    for ax, name in zip(axes, inters, strict=True):
        for task, line in curves[curves["intermediate"] == name].groupby("task", sort=False):
            # Error bars: standard deviation over restarts (none with a single restart).
            ax.errorbar(
                line["intermediate_train_size"],
                line["mean"],
                yerr=line["std"].fillna(0),
                marker="o",
                capsize=3,
                label=task,
                color=colours[task],
            )
        ax.set_xscale("log")
        ax.set_title(f"intermediate: {name}", fontsize=9)
        ax.set_xlabel("intermediate training examples")
        ax.set_ylabel("target score (points)")
        ax.legend(fontsize=7, title="task", title_fontsize=7)
    return fig
