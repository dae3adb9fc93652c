"""The two things `stilts-rank` does: rank one target's candidates, or evaluate every method on a
finished grid (which reads the grid's result records only, and ranks with the same methods)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stilts.cell import Cell
from stilts.rank.evaluation import evaluation_table, grid_stage_seconds, realized_deltas, realized_scores
from stilts.rank.features import RankError
from stilts.rank.methods import Ranking, RankSettings, estimate_replaced_grid, rank
from stilts.rank.report import md_table, ranking_text, summary_table, write_evaluation
from stilts.tasks.spec import NO_TASK

log = logging.getLogger(__name__)
Compose = Callable[..., Cell]  # (target, candidate="none") -> the settings of that cell


@dataclass(frozen=True)
class RankRequest:
    """What `stilts-rank` is asked: rank.yaml's own keys (their meaning is there)."""

    method: str
    methods: tuple[str, ...]
    candidates: tuple[str, ...]
    evaluate: Path | None
    targets: tuple[str, ...] | None
    out: Path | None
    settings: RankSettings


def rank_one(cell: Cell, request: RankRequest, compose: Compose, run_dir: Path) -> str:
    """`stilts-rank task@target=T candidates=[...] method=M`: the ranking and its cost, for the target
    of `cell`."""
    target = cell.downstream.spec.name
    candidates, settings = list(request.candidates), request.settings
    ranking = rank(request.method, cell, settings, candidates, lambda c: compose(target, c), run_dir)
    grid = estimate_replaced_grid(cell, settings, candidates, lambda c: compose(target, c), ranking)
    (run_dir / "ranking.json").write_text(json.dumps(_record(ranking), indent=2))
    return ranking_text(ranking, grid)


def _record(ranking: Ranking) -> dict:
    """The JSON form of a ranking (ranking.json, rankings.json)."""
    cost = ranking.cost
    return {
        "method": ranking.method,
        "target": ranking.target,
        "scores": ranking.scores,
        "order": [name for name, _ in ranking.ordered()],
        "cost": {
            "sequences": cost.sequences,
            "wall_s": round(cost.wall_s, 3),
            "train_wall_s": round(cost.train_wall_s, 3),
            "trained": cost.trained,
            "cached": cost.cached,
        },
    }


def evaluate_grid(request: RankRequest, compose: Compose, run_dir: Path) -> str:
    """`stilts-rank evaluate=SWEEP methods=[...]`: every method for every target of the grid."""
    assert request.evaluate is not None, "evaluate_grid needs `evaluate`, the grid's sweep folder"
    sweep, settings = request.evaluate, request.settings
    realized = realized_scores(sweep)
    targets = list(request.targets) if request.targets else list(realized.index)
    candidates = (
        list(request.candidates) if request.candidates else [c for c in realized.columns if c != NO_TASK]
    )
    unknown = [t for t in targets if t not in realized.index]
    if unknown:
        raise RankError(f"`targets` names {unknown}, which have no finished cells in {sweep}")
    records, costs = [], []
    for method in request.methods:
        memo: dict = {}  # semb embeds each task once for all targets
        for target in targets:
            ranking = rank(
                method,
                compose(target),
                settings,
                candidates,
                lambda c, t=target: compose(t, c),
                run_dir,
                memo,
            )
            records.append(_record(ranking))
            costs.append(
                {
                    "method": method,
                    "target": target,
                    "wall_s": ranking.cost.wall_s,
                    "sequences": ranking.cost.sequences,
                    "train_wall_s": ranking.cost.train_wall_s,
                    "trained": len(ranking.cost.trained),
                }
            )
    out = request.out or run_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "rankings.json").write_text(json.dumps(records, indent=2))
    table = evaluation_table(records, realized)
    cost_table = pd.DataFrame(costs).groupby("method", sort=False)[["wall_s", "sequences", "trained"]].sum()
    grid_s = settings.grid_wall_s if settings.grid_wall_s else grid_stage_seconds(sweep)
    cost_table["share_of_grid"] = cost_table["wall_s"] / grid_s
    write_evaluation(table, realized_deltas(realized).loc[targets], cost_table, out)
    basis = "measured grid wall time" if settings.grid_wall_s else "sum of the records' stage times"
    lines = [
        f"stilts-rank evaluation on {sweep}: {len(targets)} targets x {len(candidates)} candidates",
        "mean over targets (random-ranking expectation beside each metric):",
        md_table(summary_table(table)),
        f"cost per method (all targets; share of the grid's {grid_s:.0f} s, {basis}):",
        md_table(cost_table, digits=3),
        f"tables and figure: {out}",
    ]
    return "\n".join(lines)
