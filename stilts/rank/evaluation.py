"""A method's rankings against a finished grid: realized transfer from result records only.

Realized: per (target, intermediate), the mean over restarts of the target's `main` score of the
finished full-size cells (stilts.analysis.transfer.run_means); the delta subtracts the mean of the
`none` cells. Rankings are scored with stilts.rank.metrics against the realized mean scores (NDCG
and Regret use scores as in Poth et al.; Spearman is the same on scores or deltas), per target and
averaged over targets, with the exact expectation of a random ranking beside each metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stilts.analysis.results import BASELINE, NO_CONTROL, RESULT_FILE, deduplicate, load_results, reject
from stilts.analysis.settings import label_settings, split_tasks
from stilts.analysis.transfer import run_means
from stilts.rank import metrics
from stilts.rank.features import RankError
from stilts.result import RecordError, read_result

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DOWNSTREAM_ROLES = ("target", "probing")  # a probing task can be the task one ranks candidates for
METRICS = ("spearman", "ndcg@3", "regret@1", "regret@3", "top3_hit")


def realized_scores(sweep: str | Path) -> pd.DataFrame:
    """Mean downstream score over restarts: index downstream task, columns intermediate (incl. `none`).

    Only plain intermediate training counts (`control` none: the encoders a ranking reads); a task run
    under several settings (lr, precision...; stilts.analysis.settings) is refused rather than averaged."""
    kept, _ = deduplicate(load_results(sweep))
    kept = kept[kept["role"].isin(DOWNSTREAM_ROLES) & (kept["control"] == NO_CONTROL)]
    if kept.empty:
        raise RankError(
            f"{sweep}: no finished downstream cells (role `target` or `probing`, control `none`) to evaluate"
        )
    split = split_tasks(label_settings(kept))
    if not split.empty:
        raise RankError(
            f"{sweep}: task(s) {sorted(set(split['task']))} ran under several settings "
            f"({', '.join(split['row'])}); evaluate a grid of one setting per task"
        )
    return run_means(kept)["mean"].unstack("intermediate")


def grid_stage_seconds(sweep: str | Path) -> float:
    """Sum of `wall_time_s` over the sweep's records (downstream stages; intermediate training is
    not in the records)."""
    total = 0.0
    for path in Path(sweep).rglob(RESULT_FILE):
        try:
            result = read_result(path)
        except RecordError as err:
            reject(None, err)  # left out of the realized scores too
            continue
        total += (result.wall_time_s or 0.0) if result is not None else 0.0
    return total


def score_ranking(predicted: dict[str, float], realized: pd.Series) -> dict[str, float]:
    """Every metric and its random-ranking expectation for one target."""
    missing = [name for name in predicted if pd.isna(realized.get(name))]
    if missing:
        raise RankError(f"target `{realized.name}`: no finished cells for candidate(s) {missing} in the grid")
    names = list(predicted)
    p = np.array([predicted[n] for n in names], dtype=np.float64)
    r = realized[names].to_numpy(dtype=np.float64)
    return {
        "spearman": metrics.spearman(p, r),
        "ndcg@3": metrics.ndcg(p, r, 3),
        "regret@1": metrics.regret(p, r, 1),
        "regret@3": metrics.regret(p, r, 3),
        "top3_hit": metrics.top3_hit(p, r),
        "random/spearman": metrics.random_spearman(r),
        "random/ndcg@3": metrics.random_ndcg(r, 3),
        "random/regret@1": metrics.random_regret(r, 1),
        "random/regret@3": metrics.random_regret(r, 3),
        "random/top3_hit": metrics.random_top3_hit(r),
    }


def evaluation_table(rankings: list[dict], realized: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, target) plus a `mean` row per method.

    Args:
        rankings: dicts with `method`, `target`, `scores` (candidate -> score).
        realized: from `realized_scores`.
    """
    rows = []
    for item in rankings:
        if item["target"] not in realized.index:
            raise RankError(f"target `{item['target']}` has no finished cells in the grid")
        row = score_ranking(item["scores"], realized.loc[item["target"]])
        rows.append({"method": item["method"], "target": item["target"], **row})
    table = pd.DataFrame(rows)
    means = table.groupby("method", sort=False).mean(numeric_only=True).reset_index().assign(target="mean")
    return pd.concat([table, means], ignore_index=True).set_index(["method", "target"])


def plot_evaluation(table: pd.DataFrame) -> Figure:
    """Each metric per target and averaged (`mean`): grouped bars per method, and the random
    ranking's expectation as a black tick over each group."""
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(table.index.get_level_values("method")))
    targets = list(dict.fromkeys(table.index.get_level_values("target")))
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(len(METRICS), 1, figsize=(max(8.0, 1.6 * len(targets)), 2.2 * len(METRICS)))
    for ax, metric in zip(axes, METRICS, strict=True):
        x = np.arange(len(targets))
        for i, method in enumerate(methods):
            values = [table.loc[(method, t), metric] for t in targets]
            ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=method)
        random = [table.loc[(methods[0], t), f"random/{metric}"] for t in targets]
        ax.scatter(x, random, marker="_", s=900, color="black", label="random", zorder=3)
        ax.set_xticks(x, targets)
        ax.set_ylabel(metric)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[0].set_title("Ranking quality per target and mean (black: random ranking)", fontsize=10)
    fig.tight_layout()
    return fig


def realized_deltas(realized: pd.DataFrame) -> pd.DataFrame:
    """Mean score minus the `none` mean, per target and intermediate (NaN without a baseline)."""
    base = realized[BASELINE] if BASELINE in realized else pd.Series(np.nan, index=realized.index)
    return realized.drop(columns=[BASELINE], errors="ignore").sub(base, axis=0)
