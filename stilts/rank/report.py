"""Text and files of `stilts-rank`: the ranking with its cost, and the evaluation table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stilts.rank.cost import GridEstimate
from stilts.rank.evaluation import METRICS
from stilts.rank.methods import Ranking


def ranking_text(ranking: Ranking, grid: GridEstimate | None = None) -> str:
    """The ranking (best first) with scores, the measured cost and, if given, the grid estimate."""
    cost = ranking.cost
    n = len(ranking.scores)
    lines = [f"stilts-rank: target {ranking.target}, method {ranking.method}, {n} candidates"]
    lines.append(f"{'rank':>4}  {'candidate':<24} {'score':>12}")
    for i, (name, score) in enumerate(ranking.ordered(), start=1):
        lines.append(f"{i:>4}  {name:<24} {score:>12.6f}")
    lines.append(
        f"measured cost: {cost.sequences:,} encoder forward passes (sequences), {cost.wall_s:.1f} s wall"
    )
    if ranking.method != "semb":
        trained = ", ".join(cost.trained) or "none"
        lines.append(
            f"intermediate encoders trained for this ranking: {trained} ({cost.train_wall_s:.1f} s of the "
            f"wall time); taken from the cache: {', '.join(cost.cached) or 'none'}"
        )
    if grid is not None:
        share = cost.wall_s / grid.seconds if grid.seconds > 0 else float("nan")
        lines.append(
            f"estimated cost of the grid it replaces: {grid.intermediate_sequences:,} sequences to train "
            f"{len(ranking.scores)} intermediate encoders + {grid.target_sequences:,} for the target cells "
            f"= {grid.sequences:,} forward-pass equivalents, ~{grid.seconds:.0f} s at this run's rate "
            f"(ranking = {share:.1%} of it; see docs/ranking.md for how it is estimated)"
        )
    return "\n".join(lines)


def md_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table of `frame` (index included)."""
    flat = frame.reset_index()
    head = "| " + " | ".join(str(c) for c in flat.columns) + " |"
    rule = "|" + "|".join("---" for _ in flat.columns) + "|"
    body = [
        "| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in flat.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over targets per method, each metric beside its random-ranking expectation."""
    means = table.xs("mean", level="target")
    columns = [c for metric in METRICS for c in (metric, f"random/{metric}")]
    return means[columns]


def write_evaluation(table: pd.DataFrame, deltas: pd.DataFrame, costs: pd.DataFrame, out: Path) -> list[Path]:
    """Write the evaluation as CSV + markdown and its figure (PNG) under `out`."""
    from stilts.rank.evaluation import plot_evaluation

    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "rank_evaluation.csv")
    costs.to_csv(out / "rank_costs.csv")
    deltas.to_csv(out / "realized_deltas.csv")
    text = [
        "# stilts-rank evaluation",
        "",
        "## Mean over targets (random-ranking expectation beside each metric)",
        "",
        md_table(summary_table(table)),
        "",
        "## Per target",
        "",
        md_table(table),
        "",
        "## Cost of each method",
        "",
        md_table(costs, digits=3),
        "",
        "## Realized deltas (mean over restarts minus the `none` mean)",
        "",
        md_table(deltas, digits=4),
        "",
    ]
    (out / "rank_evaluation.md").write_text("\n".join(text), encoding="utf-8")
    fig = plot_evaluation(table)
    fig.savefig(out / "rank_evaluation.png", dpi=120)
    return [out / "rank_evaluation.md", out / "rank_evaluation.csv", out / "rank_evaluation.png"]
