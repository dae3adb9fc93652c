"""Runs of different controls or settings are never counted, paired or averaged together in the report.

The records are written by the pipeline's own writer (tests/helpers.py `write_cell_result`) for a grid of
two targets (rte: accuracy; cb: macro F1 over 3 classes) x intermediate tasks (none, mnli, sst2) x two
controls (none, l2sp) x 2 restarts. Expected values are recomputed here from the chosen predictions with
sklearn and scipy, independently of stilts.analysis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from stilts.analysis.runner import run_analysis
from tests.helpers import write_cell_result

N = 60
CLASSES = {"rte": 2, "cb": 3}
# Share of dev examples right per (intermediate, control): l2sp's encoders are far better than plain ones,
# so any pooling of the two controls moves every number the test checks.
QUALITY = {("none", "none"): 0.6, ("mnli", "none"): 0.75, ("sst2", "none"): 0.5}
QUALITY |= {("mnli", "l2sp"): 0.95, ("sst2", "l2sp"): 0.9}
RESTARTS = (0, 1)


def gold(task: str) -> np.ndarray:
    return np.arange(N) % CLASSES[task]


def score(task: str, preds: np.ndarray) -> float:
    """The task's main metric (sklearn): accuracy for rte, macro F1 over all 3 classes for cb."""
    if task == "rte":
        return float(accuracy_score(gold(task), preds))
    return float(f1_score(gold(task), preds, average="macro", labels=[0, 1, 2], zero_division=0))


def predictions(task: str, inter: str, control: str, restart: int) -> np.ndarray:
    rng = np.random.default_rng([len(task), len(inter), len(control), restart])
    right = rng.random(N) < QUALITY[(inter, control)]
    return np.where(right, gold(task), (gold(task) + 1) % CLASSES[task])


def write_grid(root: Path, extra: tuple[str, ...] = ()) -> dict[tuple[str, str, str, int], float]:
    """The two-control grid under root; returns each run's main score by (task, inter, control, restart)."""
    mains = {}
    for task in CLASSES:
        for inter, control in QUALITY:
            for restart in RESTARTS:
                preds = predictions(task, inter, control, restart)
                main = score(task, preds)
                metric = "acc" if task == "rte" else "f1_macro"
                write_cell_result(
                    root / f"{inter}_{control}_{task}_r{restart}",
                    [
                        f"task@intermediate={inter}",
                        f"task@target={task}",
                        f"control={control}",
                        f"restart={restart}",
                        *extra,
                    ],
                    preds,
                    gold(task),
                    main,
                    {metric: main},
                    majority=1 / CLASSES[task],
                )
                mains[(task, inter, control, restart)] = main
    return mains


def delta(mains: dict, task: str, inter: str, control: str) -> float:
    """Mean over restarts of (inter, control) minus the baseline mean, in points."""
    ours = np.mean([mains[(task, inter, control, r)] for r in RESTARTS])
    base = np.mean([mains[(task, "none", "none", r)] for r in RESTARTS])
    return float((ours - base) * 100)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("two_controls")
    mains = write_grid(root / "sweep")
    run_analysis(root / "sweep", root / "out", resamples=200, seed=0)
    return root / "out", mains


def test_counts_are_per_control_never_pooled(grid: tuple[Path, dict]) -> None:
    out, _ = grid
    counts = pd.read_csv(out / "restart_counts.csv", index_col="task")
    assert list(counts.columns) == ["none", "sst2", "sst2 [l2sp]", "mnli", "mnli [l2sp]"]
    assert (counts.to_numpy() == len(RESTARTS)).all()  # 2 restarts each, not 4 per intermediate
    report = (out / "report.md").read_text()
    assert "restarts per cell: 2 restart(s): 10 cell(s)" in report
    degenerate = pd.read_csv(out / "degenerate_counts.csv", index_col="task")
    assert list(degenerate.columns) == ["none", "sst2", "sst2 [l2sp]", "mnli", "mnli [l2sp]", "total"]


def test_matrix_and_bootstrap_average_one_control(grid: tuple[Path, dict]) -> None:
    out, mains = grid
    matrix = pd.read_csv(out / "transfer_matrix.csv", index_col="task")
    boot = pd.read_csv(out / "transfer_bootstrap.csv").set_index(["task", "intermediate"])
    for task in CLASSES:
        for inter in ("mnli", "sst2"):
            expected = delta(mains, task, inter, "none")
            assert matrix.at[task, inter] == pytest.approx(expected, abs=1e-4)
            assert boot.at[(task, inter), "delta"] == pytest.approx(expected, abs=1e-4)
            assert boot.at[(task, inter), "runs"] == boot.at[(task, inter), "baseline_runs"] == len(RESTARTS)
    assert boot.at[("cb", "mnli"), "metric"] == "f1_macro" and boot.at[("rte", "mnli"), "metric"] == "acc"
    l2sp = pd.read_csv(out / "transfer_matrix_l2sp.csv", index_col="task")
    assert l2sp.at["rte", "mnli"] == pytest.approx(delta(mains, "rte", "mnli", "l2sp"), abs=1e-4)
    by_control = pd.read_csv(out / "transfer_by_control.csv", index_col="control")
    assert by_control.at["none", "cells"] == by_control.at["l2sp", "cells"] == 4


def test_correlations_pair_runs_of_one_control(grid: tuple[Path, dict]) -> None:
    out, mains = grid
    keys = [(inter, r) for inter in ("mnli", "sst2") for r in RESTARTS]
    rte = [mains[("rte", i, "none", r)] for i, r in keys]
    cb = [mains[("cb", i, "none", r)] for i, r in keys]
    pairs = pd.read_csv(out / "correlation_target_target_spearman_pairs.csv", index_col="task")
    r = pd.read_csv(out / "correlation_target_target_spearman.csv", index_col="task")
    assert pairs.at["cb", "rte"] == len(keys)
    assert r.at["cb", "rte"] == pytest.approx(stats.spearmanr(rte, cb).statistic)


def test_a_setting_that_changes_the_result_is_a_row_of_its_own(tmp_path: Path) -> None:
    mains = {}
    for precision in ("32-true", "bf16-mixed"):
        for inter in ("none", "mnli"):
            for restart in RESTARTS:
                # bf16's runs are all right: pooling them with fp32's would move both rows
                right = 1.0 if precision == "bf16-mixed" and inter == "mnli" else 0.6 + 0.1 * restart
                preds = np.where(np.arange(N) < right * N, gold("rte"), 1 - gold("rte"))
                main = score("rte", preds)
                write_cell_result(
                    tmp_path / "sweep" / f"{precision}_{inter}_r{restart}",
                    [
                        f"task@intermediate={inter}",
                        "task@target=rte",
                        f"restart={restart}",
                        f"trainer.precision={precision}",
                    ],
                    preds,
                    gold("rte"),
                    main,
                    {"acc": main},
                )
                mains[(precision, inter, restart)] = main
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=50)
    matrix = pd.read_csv(tmp_path / "out" / "transfer_matrix.csv", index_col="task")
    for precision in ("32-true", "bf16-mixed"):
        row = f"rte [precision={precision}]"
        inter = np.mean([mains[(precision, "mnli", r)] for r in RESTARTS])
        base = np.mean([mains[(precision, "none", r)] for r in RESTARTS])
        assert matrix.at[row, "mnli"] == pytest.approx((inter - base) * 100, abs=1e-4)
    counts = pd.read_csv(tmp_path / "out" / "restart_counts.csv", index_col="task")
    assert (counts.to_numpy() == len(RESTARTS)).all() and len(counts) == 2
    assert (
        "**Settings**: 1 task(s) ran under several settings" in (tmp_path / "out" / "report.md").read_text()
    )


def test_rank_evaluation_reads_the_plain_runs_only(grid: tuple[Path, dict]) -> None:
    from stilts.rank.evaluation import realized_deltas, realized_scores

    out, mains = grid
    realized = realized_scores(out.parent / "sweep")
    assert sorted(realized.columns) == ["mnli", "none", "sst2"]  # no column or average for l2sp's encoders
    deltas = realized_deltas(realized)
    for task in CLASSES:
        assert deltas.at[task, "mnli"] * 100 == pytest.approx(delta(mains, task, "mnli", "none"))


def test_a_capped_intermediate_training_set_is_in_the_matrix_not_a_size_curve(tmp_path: Path) -> None:
    # sst2 capped at one size for the whole study; mnli run at two sizes (a size curve) and in full.
    runs = [
        ("none", None, 0.6),
        ("sst2", 500, 0.7),
        ("mnli", 100, 0.5),
        ("mnli", 200, 0.55),
        ("mnli", None, 0.8),
    ]
    for inter, size, right in runs:
        preds = np.where(np.arange(N) < right * N, gold("rte"), 1 - gold("rte"))
        main = score("rte", preds)
        extra = [f"intermediate.train_size={size}"] if size else []
        write_cell_result(
            tmp_path / "sweep" / f"{inter}_{size}",
            [f"task@intermediate={inter}", "task@target=rte", *extra],
            preds,
            gold("rte"),
            main,
            {"acc": main},
        )
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=0)
    matrix = pd.read_csv(tmp_path / "out" / "transfer_matrix.csv", index_col="task")
    assert matrix.at["rte", "sst2"] == pytest.approx(10.0) and matrix.at["rte", "mnli"] == pytest.approx(20.0)
    curves = pd.read_csv(tmp_path / "out" / "size_curves.csv")
    assert sorted(curves["intermediate_train_size"]) == [100, 200] and set(curves["intermediate"]) == {"mnli"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert (
        "**Capped intermediate training sets** (one size per task" in report and "sst2 500 examples" in report
    )
