"""The analysis of forgetting: measure table, forgetting x transfer correlations, transfer per control."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stilts.analysis.forgetting import (
    control_matrices,
    forgetting_correlations,
    measure_table,
    transfer_counts,
)
from stilts.analysis.results import records_to_frame
from stilts.analysis.runner import run_analysis


def record(intermediate: str, main: float, restart: int = 0, control: str = "none", increase=None) -> dict:
    forgetting = None
    if increase is not None:
        forgetting = {
            "mlm_loss": 2.0 + increase,
            "mlm_loss_increase": increase,
            "weight_change_all": increase / 10,
        }
    cell = f"{intermediate}__{control}__rte__r{restart}"
    return {
        "intermediate": intermediate,
        "task": "rte",
        "role": "target",
        "restart": restart,
        "main": main,
        "metrics": {"acc": main},
        "hparams": {"lr": 1e-5, "dropout": 0.1},
        "status": "finished",
        "control": control,
        "cell": cell,
        "identity": {"name": cell},
        **({"forgetting": forgetting} if forgetting else {}),
    }


# Baseline mean 0.55; plain intermediates a..d transfer -10, -5, +5, +10 points as their MLM loss
# increase falls 4, 3, 2, 1; under mlm_mix, a and b transfer 0 and +5.
RECORDS = [
    record("none", 0.50, 0, increase=0.0),
    record("none", 0.60, 1, increase=0.0),
    record("a", 0.45, increase=4.0),
    record("b", 0.50, increase=3.0),
    record("c", 0.60, increase=2.0),
    record("d", 0.65, increase=1.0),
    record("a", 0.55, control="mlm_mix", increase=1.5),
    record("b", 0.60, control="mlm_mix", increase=0.5),
]


def test_measure_table_has_one_row_per_control_and_intermediate() -> None:
    table = measure_table(records_to_frame(RECORDS))
    assert table.loc[("none", "a"), "mlm_loss"] == pytest.approx(6.0)
    assert table.loc[("mlm_mix", "b"), "mlm_loss_increase"] == pytest.approx(0.5)
    assert table.loc[("none", "none"), "mlm_loss"] == pytest.approx(2.0)  # the pretrained encoder
    assert table.loc[("none", "none"), "restarts"] == 2


def test_forgetting_correlates_with_transfer_across_encoders() -> None:
    corr = forgetting_correlations(records_to_frame(RECORDS))
    increase = np.array([4.0, 3.0, 2.0, 1.0, 1.5, 0.5])
    delta = np.array([-10.0, -5.0, 5.0, 10.0, 0.0, 5.0])
    # Independent computations: Pearson with numpy; Spearman as Pearson of the ranks (no ties here).
    pearson = np.corrcoef(increase, delta)[0, 1]
    ranks = pd.Series(increase).rank().to_numpy(), pd.Series(delta).rank().to_numpy()
    spearman = np.corrcoef(*ranks)[0, 1]
    assert corr["pearson"].r.loc["mlm_loss_increase", "rte"] == pytest.approx(pearson)
    assert corr["spearman"].r.loc["mlm_loss_increase", "rte"] == pytest.approx(spearman)
    assert corr["pearson"].n.loc["mlm_loss_increase", "rte"] == 6


def test_transfer_per_control_counts_positive_and_negative_cells() -> None:
    matrices = control_matrices(records_to_frame(RECORDS))
    assert list(matrices) == ["none", "mlm_mix"]
    assert matrices["none"].loc["rte", "a"] == pytest.approx(-10.0)
    assert matrices["mlm_mix"].loc["rte", "a"] == pytest.approx(0.0)
    counts = transfer_counts(matrices)
    assert counts.loc["none", ["positive", "negative"]].tolist() == [2, 2]
    assert counts.loc["none", "mean_negative_delta"] == pytest.approx(-7.5)
    assert counts.loc["mlm_mix", ["positive", "negative"]].tolist() == [1, 0]  # a's 0 is neither
    assert counts.loc["mlm_mix", "negative_change_vs_none"] == -2
    assert counts.loc["mlm_mix", "mean_delta"] == pytest.approx(2.5)


def test_report_has_a_forgetting_section_and_keeps_controls_out_of_figure_2(tmp_path) -> None:
    runs = tmp_path / "runs"
    for rec in RECORDS:
        folder = runs / rec["cell"]
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(rec))
    out = tmp_path / "report"
    run_analysis(runs, out, resamples=0)
    report = (out / "report.md").read_text()
    assert "## Forgetting" in report and "forgetting_scatter.png" in report
    figure2 = pd.read_csv(out / "transfer_matrix.csv", index_col=0)
    assert figure2.loc["rte", "a"] == pytest.approx(-10.0)  # plain runs only, not averaged with mlm_mix
    for name in (
        "forgetting_measures.csv",
        "forgetting_mlm_loss.png",
        "forgetting_correlation_spearman.png",
        "transfer_by_control.csv",
    ):
        assert (out / name).is_file()
    assert (out / "transfer_matrix_mlm_mix.png").is_file()
