"""stilts-rank end to end on the fixtures with the tiny model: cache reuse, evaluation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from stilts.rank import metrics
from tests.helpers import cli, offline_env, tiny_overrides, train_steps

STEPS = "+trainer.max_steps=2"


def _rank_cmd(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    overrides = [*tiny_overrides(tmp_path), STEPS, f"hydra.run.dir={tmp_path / 'rank'}", *args]
    return subprocess.run(
        cli("rank", *overrides), capture_output=True, text=True, env=offline_env(), timeout=300
    )


def test_logme_trains_only_uncached_candidates(tmp_path: Path) -> None:
    # The grid already trained sst2's intermediate encoder (a cell sst2 -> rte, as stilts-train runs it).
    train_steps(tmp_path, "sst2", slot="intermediate")
    done = _rank_cmd(tmp_path, "task@target=rte", "candidates=[sst2,mnli]", "method=logme")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "intermediate encoders trained for this ranking: mnli" in done.stdout
    assert "taken from the cache: sst2" in done.stdout
    record = json.loads((tmp_path / "rank" / "ranking.json").read_text())
    assert record["cost"]["trained"] == ["mnli"] and record["cost"]["cached"] == ["sst2"]
    assert record["cost"]["sequences"] == 2 * 24  # rte's 24 training examples under each encoder
    assert sorted(record["order"]) == ["mnli", "sst2"]


def _record(intermediate: str, restart: int, main: float) -> dict:
    return {
        "intermediate": intermediate,
        "task": "rte",
        "role": "target",
        "restart": restart,
        "status": "finished",
        "main": main,
        "hparams": {"lr": 1e-5, "dropout": 0.1},
        "wall_time_s": 10.0,
    }


def test_evaluate_against_records(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    realized = {
        "none": (0.50, 0.52),
        "sst2": (0.60, 0.62),
        "mnli": (0.70, 0.66),
        "commonsenseqa": (0.40, 0.44),
    }
    for name, mains in realized.items():
        for restart, main in enumerate(mains):
            cell = sweep / f"{name}__rte__r{restart}"
            cell.mkdir(parents=True)
            (cell / "result.json").write_text(json.dumps(_record(name, restart, main)))
    out = tmp_path / "eval"
    done = _rank_cmd(tmp_path, f"evaluate={sweep}", "methods=[semb]", f"out={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| semb |" in done.stdout and "share" in done.stdout
    for name in ("rank_evaluation.md", "rank_evaluation.csv", "rank_evaluation.png", "realized_deltas.csv"):
        assert (out / name).is_file()
    ranking = json.loads((out / "rankings.json").read_text())[0]
    names = list(ranking["scores"])
    means = [sum(realized[n]) / 2 for n in names]
    table = pd.read_csv(out / "rank_evaluation.csv").set_index(["method", "target"])
    predicted = [ranking["scores"][n] for n in names]
    assert table.loc[("semb", "rte"), "regret@1"] == pytest.approx(metrics.regret(predicted, means, 1))
    # Three candidates: the best is always in the top 3, and a random ranking's Regret@1 is the mean
    # shortfall (0.68 - 0.61, 0, 0.68 - 0.42) / 0.68 / 3.
    assert table.loc[("semb", "rte"), "top3_hit"] == 1.0
    assert table.loc[("semb", "rte"), "random/regret@1"] == pytest.approx((0.07 + 0.26) / 0.68 / 3)
    deltas = pd.read_csv(out / "realized_deltas.csv", index_col=0)
    assert deltas.loc["rte", "mnli"] == pytest.approx(0.68 - 0.51)
    costs = pd.read_csv(out / "rank_costs.csv", index_col=0)
    assert costs.loc["semb", "share_of_grid"] == pytest.approx(costs.loc["semb", "wall_s"] / 80.0)
