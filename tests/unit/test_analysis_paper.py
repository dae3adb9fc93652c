"""This study against the paper's Figure 2 (`stilts-analyze ... paper=figure2.csv`), and the bootstrap on
each task's own metric: records from the pipeline's writer, a figure2-format CSV written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from stilts.analysis.bootstrap import accuracy, binary_f1, macro_f1, matthews
from stilts.analysis.runner import run_analysis
from tests.helpers import write_cell_result
from tests.unit.test_analysis_settings import delta, write_grid

# The paper's deltas for the cells the grid shares (rte, cb x sst2, mnli), plus cells it does not hold
# (qamr, wic); cb x mnli is printed as -0.0 in the paper: no sign.
FIGURE2 = """task,baseline,qamr,sst2,mnli
cb,99.1,-4.0,-1.2,-0.0
rte,83.5,0.6,2.6,3.1
avg_target,91.3,-1.7,0.7,1.55
wic,70.5,-1.3,-6.4,0.9
"""


def confusion(gold: np.ndarray, pred: np.ndarray, weights: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes))
    np.add.at(matrix, (gold, pred), weights)
    return matrix


def test_confusion_metrics_match_sklearn_with_example_weights() -> None:
    rng = np.random.default_rng(0)
    for classes in (2, 3):
        for _ in range(20):
            gold, pred = rng.integers(0, classes, 50), rng.integers(0, classes, 50)
            weights = rng.multinomial(50, np.full(50, 1 / 50)).astype(float)  # a bootstrap draw
            c = confusion(gold, pred, weights, classes)
            kw = {"sample_weight": weights}
            assert accuracy(c) == pytest.approx(accuracy_score(gold, pred, **kw))
            assert matthews(c) == pytest.approx(matthews_corrcoef(gold, pred, **kw), abs=1e-12)
            labels = list(range(classes))
            expected = f1_score(gold, pred, labels=labels, average="macro", zero_division=0, **kw)
            assert macro_f1(c) == pytest.approx(expected)
            if classes == 2:
                assert binary_f1(c) == pytest.approx(f1_score(gold, pred, zero_division=0, **kw))


def test_bootstrap_is_on_macro_f1_where_accuracy_moves_the_other_way(tmp_path: Path) -> None:
    gold = np.array([0] * 40 + [1] * 10 + [2] * 10)
    majority = np.zeros(60, dtype=int)  # the baseline: always class 0
    balanced = gold.copy()
    balanced[:24] = 1 + np.arange(24) % 2  # loses 24 class-0 examples, finds classes 1 and 2
    runs = {"none": majority, "mnli": balanced}
    for inter, preds in runs.items():
        for restart in range(3):
            f1 = f1_score(gold, preds, average="macro", labels=[0, 1, 2], zero_division=0)
            write_cell_result(
                tmp_path / "sweep" / f"{inter}_r{restart}",
                [f"task@intermediate={inter}", "task@target=cb", f"restart={restart}"],
                preds,
                gold,
                f1,
                {"f1_macro": f1, "acc": accuracy_score(gold, preds)},
            )
    assert accuracy_score(gold, balanced) < accuracy_score(gold, majority)
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=300)
    boot = pd.read_csv(tmp_path / "out" / "transfer_bootstrap.csv").set_index(["task", "intermediate"])
    f1 = {k: f1_score(gold, p, average="macro", labels=[0, 1, 2], zero_division=0) for k, p in runs.items()}
    assert boot.at[("cb", "mnli"), "metric"] == "f1_macro"
    assert boot.at[("cb", "mnli"), "delta"] == pytest.approx((f1["mnli"] - f1["none"]) * 100, abs=1e-4)
    assert boot.at[("cb", "mnli"), "ci_low"] > 0 and boot.at[("cb", "mnli"), "significant"]


def test_a_record_whose_main_is_not_its_predictions_score_gets_no_interval(tmp_path: Path) -> None:
    gold = np.arange(40) % 2
    for inter, right in (("none", 24), ("mnli", 30)):
        preds = np.where(np.arange(40) < right, gold, 1 - gold)
        # `main` says F1 while the predictions' F1 is another number: no CI on a metric the matrix is not on
        write_cell_result(
            tmp_path / "sweep" / inter,
            [f"task@intermediate={inter}", "task@target=rte"],
            preds,
            gold,
            0.9,
            {"acc": 0.9},
        )
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=50)
    report = (tmp_path / "out" / "report.md").read_text()
    assert (
        "Tasks without CIs: rte: scores recomputed from predictions differ from the records' `main`" in report
    )


def test_paper_table_puts_both_deltas_side_by_side_and_counts_sign_agreement(tmp_path: Path) -> None:
    mains = write_grid(tmp_path / "sweep")
    paper_csv = tmp_path / "figure2.csv"
    paper_csv.write_text(FIGURE2)
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=200, paper=str(paper_csv))
    table = pd.read_csv(tmp_path / "out" / "paper_comparison.csv")
    paper = pd.read_csv(paper_csv, index_col="task")
    assert sorted(zip(table["task"], table["intermediate"], strict=True)) == [
        ("cb", "mnli"),
        ("cb", "sst2"),
        ("rte", "mnli"),
        ("rte", "sst2"),
    ]
    agree = disagree = 0
    for row in table.itertuples():
        ours = delta(mains, row.task, row.intermediate, "none")  # plain runs only, never l2sp's
        assert row.delta == pytest.approx(ours, abs=1e-4)
        assert row.paper_delta == paper.at[row.task, row.intermediate]
        assert row.runs == row.baseline_runs == 2
        theirs = paper.at[row.task, row.intermediate]
        if theirs != 0:
            agree, disagree = (
                agree + (np.sign(ours) == np.sign(theirs)),
                disagree + (np.sign(ours) != np.sign(theirs)),
            )
    counts = pd.read_csv(tmp_path / "out" / "paper_sign_agreement.csv", index_col="subset")
    assert counts.loc["all"].tolist() == [4, agree, disagree, 1]
    significant = table[table["significant"]]
    assert counts.at["significant here", "cells"] == len(significant)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Against the paper (Figure 2)" in report and f"Signs agree in {agree} of 4 cells" in report


def test_a_paper_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    from stilts.analysis.results import ResultsError

    write_cell_result(tmp_path / "sweep" / "b", ["task@target=rte"], [0, 1], [0, 1], 1.0, {"acc": 1.0})
    (tmp_path / "bad.csv").write_text("task,mnli\nrte,1.0\n")
    with pytest.raises(ResultsError, match="bad.csv: no 'baseline' column"):
        run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=0, paper=str(tmp_path / "bad.csv"))


def test_notes_open_the_report_and_a_missing_notes_file_is_named(tmp_path: Path) -> None:
    from stilts.errors import StiltsError

    write_cell_result(tmp_path / "sweep" / "b", ["task@target=rte"], [0, 1], [0, 1], 1.0, {"acc": 1.0})
    notes = tmp_path / "notes.md"
    notes.write_text("## The study\n\nWhat it shows, in plain words.\n")
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=0, notes=str(notes))
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.index("What it shows, in plain words.") < report.index("## Inputs")
    with pytest.raises(StiltsError, match="notes: no file at .*absent.md"):
        run_analysis(tmp_path / "sweep", tmp_path / "out2", resamples=0, notes=str(tmp_path / "absent.md"))


def test_equal_scores_in_another_order_give_a_delta_of_exactly_zero(tmp_path: Path) -> None:
    """Scores are recorded in float32: 0.65, 0.63, 0.65 against 0.63, 0.69, 0.61 (equal means in real
    numbers, the real study's sst2 -> copa cell) differ by ~2e-6 points as floats, which must not count
    as a sign against the paper's delta."""
    gold = np.ones(100, dtype=int)
    runs = {"none": (0.63, 0.69, 0.61), "sst2": (0.65, 0.63, 0.65)}
    for inter, accuracies in runs.items():
        for restart, acc in enumerate(accuracies):
            preds = np.where(np.arange(100) < round(acc * 100), 1, 0)
            main = float(np.float32(acc))
            write_cell_result(
                tmp_path / "sweep" / f"{inter}_r{restart}",
                [f"task@intermediate={inter}", "task@target=rte", f"restart={restart}"],
                preds,
                gold,
                main,
                {"acc": main},
            )
    (tmp_path / "figure2.csv").write_text("task,baseline,sst2\nrte,83.5,2.6\n")
    run_analysis(tmp_path / "sweep", tmp_path / "out", resamples=0, paper=str(tmp_path / "figure2.csv"))
    matrix = pd.read_csv(tmp_path / "out" / "transfer_matrix.csv", index_col="task")
    assert matrix.at["rte", "sst2"] == 0.0
    counts = pd.read_csv(tmp_path / "out" / "paper_sign_agreement.csv", index_col=0)
    assert counts.at["all", "zero_delta"] == 1 and counts.at["all", "agree"] == 0
