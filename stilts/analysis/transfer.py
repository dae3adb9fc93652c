"""Figure 2: the transfer matrix (intermediate minus baseline, in points); its CIs: stilts.analysis.bootstrap.

Rows are tasks grouped by role and family (targets, then each probing family: edge probing, SentEval,
acceptability; stilts.analysis.order) in the paper's order, with the `avg_target` row after the
targets; columns are `baseline` then the intermediate tasks in the paper's order, each restricted to
what the results hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stilts.analysis.order import TARGET, groups_from_results, order_intermediates, order_tasks, task_group
from stilts.analysis.results import BASELINE, ResultsError, finished_full_size

AVG_TARGET = "avg_target"
BASELINE_COL = "baseline"
SCORE_RESOLUTION = 4  # decimals of a point kept in the deltas (see transfer_matrix)


def with_avg_target(matrix: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """Insert the `avg_target` row after the targets: the mean over targets of each column.

    Matches the paper: its avg_target row is the mean of its 10 target rows (of the deltas, and of the
    baselines for the baseline column), up to the rounding of the printed values (<= 0.06 points).
    """
    rows = [t for t in matrix.index if t in targets]
    if not rows:
        return matrix
    avg = matrix.loc[rows].mean(skipna=True).rename(AVG_TARGET).to_frame().T
    rest = [t for t in matrix.index if t not in rows]
    out = pd.concat([matrix.loc[rows], avg, matrix.loc[rest]])
    out.index.name = matrix.index.name
    return out


def run_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean `main` over restarts and number of restarts per (task, intermediate) of full-size runs."""
    done = finished_full_size(frame)
    return done.groupby(["task", "intermediate"])["main"].agg(["mean", "count"])


def transfer_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Figure 2 in points: the baseline mean and, per intermediate, mean over restarts minus baseline mean.

    Args:
        frame: Deduplicated results (see `results.deduplicate`); failed and size-curve runs are ignored.

    Returns:
        Index: tasks in paper order plus `avg_target` after the targets (when any target is present).
        Columns: `baseline`, then intermediate tasks in paper order. NaN where a run or baseline is missing.
    """
    means = run_means(frame)["mean"].unstack("intermediate") * 100.0
    if means.empty:
        return pd.DataFrame(columns=[BASELINE_COL])
    base = means[BASELINE] if BASELINE in means else pd.Series(np.nan, index=means.index)
    cols = order_intermediates(list(means.columns))
    # Scores are recorded in float32 (torchmetrics): two sets of runs with equal scores in real numbers
    # (0.65, 0.63, 0.65 against 0.63, 0.69, 0.61) differ by ~2e-6 points, which would give a delta of
    # no effect a sign. Below 1e-4 points no dev set resolves a difference: round there.
    matrix = means[cols].sub(base, axis=0).round(SCORE_RESOLUTION)
    matrix.insert(0, BASELINE_COL, base)
    groups = groups_from_results(finished_full_size(frame))
    matrix = matrix.loc[order_tasks(list(matrix.index), groups)]
    matrix.index.name, matrix.columns.name = "task", None
    return with_avg_target(matrix, [t for t in matrix.index if groups.get(t) == TARGET])


def load_paper_matrix(path: str | Path) -> pd.DataFrame:
    """The paper's Figure 2 table (task, baseline, 11 intermediate deltas; points) in the package's layout."""
    path = Path(path)
    try:
        table = pd.read_csv(path, index_col="task")
    except (OSError, ValueError) as err:
        raise ResultsError(f"{path}: cannot read the Figure 2 table ({err})") from err
    if BASELINE_COL not in table.columns:
        raise ResultsError(f"{path}: no '{BASELINE_COL}' column")
    cols = [BASELINE_COL, *order_intermediates([c for c in table.columns if c != BASELINE_COL])]
    rows = order_tasks([t for t in table.index if t != AVG_TARGET])
    matrix = table.loc[rows, cols].astype(float)
    if AVG_TARGET in table.index:  # keep the paper's own printed average rather than recomputing it
        targets = [t for t in rows if task_group(t) == TARGET]
        rest = [t for t in rows if t not in targets]
        matrix = pd.concat(
            [matrix.loc[targets], table.loc[[AVG_TARGET], cols].astype(float), matrix.loc[rest]]
        )
    matrix.index.name = "task"
    return matrix
