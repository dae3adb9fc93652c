"""Figure 2: the transfer matrix (intermediate minus baseline, in points) with paired bootstrap CIs.

Rows are tasks grouped by role and family (targets, then each probing family: edge probing, SentEval,
acceptability; stilts.analysis.order) in the paper's order, with the `avg_target` row after the
targets; columns are `baseline` then the intermediate tasks in the paper's order, each restricted to
what the results hold.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stilts.analysis.order import TARGET, groups_from_results, order_intermediates, order_tasks, task_group
from stilts.analysis.results import BASELINE, ResultsError, finished_full_size, read_predictions

log = logging.getLogger(__name__)

AVG_TARGET = "avg_target"
BASELINE_COL = "baseline"


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
    matrix = means[cols].sub(base, axis=0)
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


@dataclass(frozen=True)
class Bootstrap:
    """Paired bootstrap of the per-cell deltas (points): accuracy delta, 95% CI and significance."""

    delta: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame

    @property
    def significant(self) -> pd.DataFrame:
        """True where the 95% CI excludes 0."""
        return (self.low > 0) | (self.high < 0)

    def long(self) -> pd.DataFrame:
        """One row per (task, intermediate) with accuracy delta, CI and significance."""
        parts = {
            "acc_delta": self.delta,
            "ci_low": self.low,
            "ci_high": self.high,
            "significant": self.significant.where(self.delta.notna()),
        }
        table = pd.concat({k: v.stack() for k, v in parts.items()}, axis=1)
        table.index.names = ["task", "intermediate"]
        return table.reset_index()


def correctness_matrix(paths: list[str]) -> np.ndarray | None:
    """Runs x examples correctness on the examples all runs share; None if any run is not comparable."""
    series = [read_predictions(p) for p in paths]
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    if len(common) == 0:
        return None
    values = np.vstack([s.loc[common].to_numpy() for s in series])
    return None if np.isnan(values).any() else values


def resampled_accuracy(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Resamples x runs accuracy, each resample one draw of examples shared by all runs (paired).

    Draws are multinomial example counts, in blocks so a 30k-example dev set stays within ~100 MB.
    """
    n = values.shape[1]
    block = max(1, min(resamples, 3_000_000 // n))
    parts = []
    for start in range(0, resamples, block):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(block, resamples - start))
        parts.append(counts @ values.T / n)
    return np.vstack(parts)


def bootstrap_deltas(frame: pd.DataFrame, resamples: int = 1000, seed: int = 0) -> Bootstrap:
    """Paired bootstrap CIs for each (task, intermediate) delta from per-example predictions.

    Each resample draws dev examples with replacement (the same draw for every run of a task, so the
    intermediate and baseline runs stay paired) and takes mean-over-restarts accuracy of the intermediate
    runs minus that of the baseline runs. Accuracy approximates the delta of tasks whose main metric is
    not accuracy (F1, MCC, EM...): the CI and the significance marker are about the accuracy delta.

    Args:
        frame: Deduplicated results with a `predictions` path per run (rows without one are skipped).
        resamples: Bootstrap resamples.
        seed: Base seed; each task's draws are seeded by (seed, task name), so adding tasks changes nothing.

    Returns:
        Frames shaped like the transfer matrix's delta part (tasks x intermediates), NaN where missing.
    """
    runs = finished_full_size(frame)
    runs = runs[runs["predictions"].notna()]
    out: dict[str, dict[tuple[str, str], float]] = {"delta": {}, "low": {}, "high": {}}
    for task, group in runs.groupby("task"):
        base = group[group["intermediate"] == BASELINE]
        if base.empty:
            continue
        values = correctness_matrix(list(group["predictions"]))
        if values is None:
            log.info("bootstrap: %s predictions are not comparable per example; no CIs", task)
            continue
        rng = np.random.default_rng([seed, zlib.crc32(str(task).encode())])
        resampled = resampled_accuracy(values, resamples, rng)
        is_base = (group["intermediate"] == BASELINE).to_numpy()
        base_mean = resampled[:, is_base].mean(axis=1)
        for name in set(group["intermediate"]) - {BASELINE}:
            pick = (group["intermediate"] == name).to_numpy()
            deltas = (resampled[:, pick].mean(axis=1) - base_mean) * 100.0
            point = (values[pick].mean(axis=1).mean() - values[is_base].mean(axis=1).mean()) * 100.0
            out["delta"][(task, name)] = point
            out["low"][(task, name)], out["high"][(task, name)] = np.percentile(deltas, [2.5, 97.5])
    frames = {}
    for key, cells in out.items():
        series = pd.Series(cells, dtype=float)
        table = series.unstack() if not series.empty else pd.DataFrame(dtype=float)
        frames[key] = table.reindex(
            index=order_tasks(list(table.index)), columns=order_intermediates(list(table.columns))
        )
    return Bootstrap(**frames)
