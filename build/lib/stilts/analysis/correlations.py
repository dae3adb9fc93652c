"""Figures 3-5: correlations between task scores across (intermediate task x restart) runs.

Runs of two tasks are paired when they share intermediate task and restart (the same intermediate
encoder, in the pipeline's cache). Spearman and Pearson come from scipy.stats; significance is
Holm-Bonferroni over the whole table at the given alpha, and insignificant cells are blanked for plots.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from stilts.analysis.order import order_tasks
from stilts.analysis.results import BASELINE, finished_full_size

log = logging.getLogger(__name__)

METHODS = {"spearman": stats.spearmanr, "pearson": stats.pearsonr}
MIN_PAIRS = 3


def holm(pvalues: np.ndarray | pd.DataFrame | list[float], alpha: float = 0.05) -> np.ndarray:
    """Holm-Bonferroni step-down test over all non-NaN p-values.

    Sort the m p-values ascending and reject p_(k) (k = 1..m) while p_(k) <= alpha / (m - k + 1);
    stop at the first failure (every larger p-value is kept too).

    Args:
        pvalues: P-values of any shape; NaN entries are not tests (not counted in m, never rejected).
        alpha: Family-wise error rate.

    Returns:
        Boolean array of the input's shape: True where the null hypothesis is rejected.
    """
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    reject = np.zeros(flat.shape, dtype=bool)
    tested = np.flatnonzero(~np.isnan(flat))
    m = len(tested)
    for k, i in enumerate(tested[np.argsort(flat[tested], kind="stable")], start=1):
        if flat[i] > alpha / (m - k + 1):
            break
        reject[i] = True
    return reject.reshape(p.shape)


def score_table(frame: pd.DataFrame, include_baseline: bool = False) -> pd.DataFrame:
    """Scores (points) with one row per (intermediate, restart) and one column per task.

    Args:
        frame: Deduplicated results; failed and size-curve runs are ignored.
        include_baseline: Also use the no-intermediate runs as data points (the paper's correlations are
            across intermediate tasks, so they are left out by default).
    """
    runs = finished_full_size(frame)
    if not include_baseline:
        runs = runs[runs["intermediate"] != BASELINE]
    return (
        runs.pivot_table(index=["intermediate", "restart"], columns="task", values="main", aggfunc="mean")
        * 100
    )


@dataclass(frozen=True)
class Correlation:
    """One correlation table: coefficients, p-values, pair counts and Holm significance (rows x cols)."""

    method: str
    r: pd.DataFrame
    p: pd.DataFrame
    n: pd.DataFrame
    significant: pd.DataFrame

    @property
    def shown(self) -> pd.DataFrame:
        """Coefficients with insignificant (or untestable) cells blanked to NaN, as in the paper's figures."""
        return self.r.where(self.significant)


def pair(x: pd.Series, y: pd.Series, method: str) -> tuple[float, float, int]:
    """(coefficient, p-value, n) over the rows where both scores exist; NaN below MIN_PAIRS or if constant."""
    both = x.notna() & y.notna()
    n = int(both.sum())
    if n < MIN_PAIRS:
        return np.nan, np.nan, n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # constant scores: NaN, not a warning
        res = METHODS[method](x[both], y[both])
    return float(res.statistic), float(res.pvalue), n


def correlate(
    scores: pd.DataFrame, rows: list[str], cols: list[str], method: str = "spearman", alpha: float = 0.05
) -> Correlation:
    """Correlate each row task with each column task over paired runs, with Holm over the table.

    When rows and cols are the same tasks (target x target), each unordered pair is one test: the
    table is symmetric, the diagonal is NaN, and Holm counts each pair once.

    Args:
        scores: From `score_table`.
        rows: Row tasks (e.g. probing tasks).
        cols: Column tasks (e.g. target tasks).
        method: 'spearman' or 'pearson'.
        alpha: Family-wise error rate for Holm-Bonferroni.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    shape = (len(rows), len(cols))
    r, p, n = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, dtype=int)
    square = rows == cols
    for i, a in enumerate(rows):
        for j, b in enumerate(cols):
            if square and j <= i:
                continue
            r[i, j], p[i, j], n[i, j] = pair(scores[a], scores[b], method)
    significant = holm(p, alpha)
    if square:  # mirror the upper triangle so the figure is the full symmetric matrix
        r, p, n = np.where(np.isnan(r), r.T, r), np.where(np.isnan(p), p.T, p), np.maximum(n, n.T)
        significant = significant | significant.T

    def table(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=pd.Index(rows, name="task"), columns=cols)

    return Correlation(method, table(r), table(p), table(n), table(significant))


def correlation_tables(
    frame: pd.DataFrame, alpha: float = 0.05, include_baseline: bool = False
) -> dict[str, Correlation]:
    """All correlation tables the analysis draws, keyed `<rows>_<cols>_<method>`.

    `probing_target_*` (probing rows x target columns; Figures 3-5) and `target_target_*`; a table is
    left out when it would have no rows or columns.
    """

    scores = score_table(frame, include_baseline)
    roles = finished_full_size(frame).groupby("task")["role"].first()
    targets = order_tasks([t for t in scores.columns if roles.get(t) == "target"])
    probing = order_tasks([t for t in scores.columns if roles.get(t) == "probing"])
    tables = {}
    for method in METHODS:
        if probing and targets:
            tables[f"probing_target_{method}"] = correlate(scores, probing, targets, method, alpha)
    for method in METHODS:
        if len(targets) >= 2:
            tables[f"target_target_{method}"] = correlate(scores, targets, targets, method, alpha)
    return tables
