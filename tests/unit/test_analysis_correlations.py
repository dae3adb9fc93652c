"""Holm-Bonferroni, correlations across paired runs, size curves and degenerate-run tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stilts.analysis import (
    correlate,
    correlation_tables,
    deduplicate,
    degenerate_counts,
    degenerate_runs,
    holm,
    load_results,
    records_to_frame,
    score_table,
    size_curves,
)

SWEEP = Path(__file__).resolve().parents[1] / "fixtures" / "analysis" / "sweep"


def test_holm_hand_worked() -> None:
    # m = 4 tests at alpha 0.05. Sorted: 0.005 <= 0.05/4 = 0.0125 reject; 0.01 <= 0.05/3 = 0.0167 reject;
    # 0.03 > 0.05/2 = 0.025 stop, so 0.03 and 0.04 are kept although 0.04 <= 0.05/1.
    assert holm([0.01, 0.04, 0.03, 0.005]).tolist() == [True, False, False, True]
    # NaN is no test: m = 3, 0.015 <= 0.05/3 reject, 0.024 <= 0.05/2 reject, 0.05 <= 0.05/1 reject.
    # (Plain Bonferroni, p <= 0.05/3 for all, would reject only 0.015: Holm is uniformly more powerful.)
    got = holm(np.array([[0.015, np.nan], [0.05, 0.024]]))
    assert got.tolist() == [[True, False], [True, True]]
    assert holm([0.5, 0.2]).tolist() == [False, False] and holm([]).tolist() == []
    # Ties: 0.009 <= 0.05/5 = 0.01 starts the run, so all four are rejected; 0.9 > 0.05 is kept.
    assert holm([0.009, 0.009, 0.9, 0.009, 0.009]).tolist() == [True, True, False, True, True]
    assert holm([0.011] * 5).tolist() == [False] * 5  # 0.011 > 0.05/5: the first step already fails


def synthetic(n_inter: int = 6, restarts: int = 3) -> list[dict]:
    """Target score x; probing task 'ep_pos' = exp(5x) (monotone, non-linear); 'se_wc' = noise."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(n_inter):
        for r in range(restarts):
            x = 0.5 + 0.05 * i + 0.01 * r
            scores = {
                "rte": ("target", x),
                "ep_pos": ("probing", np.exp(5 * x) / 100),
                "se_wc": ("probing", rng.random()),
                "cb": ("target", 1 - x),
            }
            for task, (role, main) in scores.items():
                records.append(
                    {
                        "intermediate": f"i{i}",
                        "task": task,
                        "role": role,
                        "restart": r,
                        "main": main,
                        "cell": f"i{i}__{task}__r{r}",
                    }
                )
    records += [
        {"intermediate": "none", "task": "rte", "role": "target", "restart": 0, "main": 0.1, "cell": "b"}
    ]
    return records


def test_correlations_find_a_known_monotone_relation() -> None:
    frame = records_to_frame(synthetic())
    tables = correlation_tables(frame)
    assert set(tables) == {
        "probing_target_spearman",
        "probing_target_pearson",
        "target_target_spearman",
        "target_target_pearson",
    }
    spear, pear = tables["probing_target_spearman"], tables["probing_target_pearson"]
    assert list(spear.r.index) == ["ep_pos", "se_wc"] and list(spear.r.columns) == ["cb", "rte"]
    assert spear.r.at["ep_pos", "rte"] == pytest.approx(1.0) and spear.r.at["ep_pos", "cb"] == pytest.approx(
        -1.0
    )
    assert 0.9 < pear.r.at["ep_pos", "rte"] < 1.0  # monotone but not linear
    assert spear.significant.at["ep_pos", "rte"] and not spear.significant.at["se_wc", "rte"]
    assert np.isnan(spear.shown.at["se_wc", "rte"])  # insignificant cells are blank
    assert (spear.n.to_numpy() == 18).all()  # 6 intermediates x 3 restarts; the baseline is left out
    tt = tables["target_target_spearman"]
    assert tt.r.at["cb", "rte"] == tt.r.at["rte", "cb"] == pytest.approx(-1.0) and np.isnan(
        tt.r.at["rte", "rte"]
    )


def test_fewer_than_three_pairs_is_nan() -> None:
    scores = score_table(records_to_frame(synthetic(n_inter=2, restarts=1)))
    corr = correlate(scores, ["ep_pos"], ["rte"], "pearson")
    assert np.isnan(corr.r.at["ep_pos", "rte"]) and corr.n.at["ep_pos", "rte"] == 2
    assert not corr.significant.to_numpy().any()
    with pytest.raises(ValueError, match="method"):
        correlate(scores, ["ep_pos"], ["rte"], "kendall")


def test_single_target_without_probing_has_no_tables() -> None:
    records = [r for r in synthetic() if r["task"] == "rte"]
    assert correlation_tables(records_to_frame(records)) == {}


def test_size_curves_and_degenerate_tables_on_fixture() -> None:
    runs, _ = deduplicate(load_results(SWEEP))
    curves = size_curves(runs)
    assert set(curves["intermediate"]) == {"mnli"} and list(curves["task"].unique()) == ["cb", "rte"]
    assert curves["intermediate_train_size"].tolist()[:3] == [100, 1000, 10000]
    assert (curves["restarts"] == 2).all() and curves["mean"].between(0, 100).all()
    counts = degenerate_counts(runs)
    assert counts.at["cb", "qqp"] == 2 and counts["total"].sum() == 2
    assert list(counts.columns) == ["none", "sst2", "qqp", "mnli", "total"]
    listed = degenerate_runs(runs)
    assert listed[["intermediate", "task"]].drop_duplicates().values.tolist() == [["qqp", "cb"]]


def test_holm_matches_adjusted_p_values() -> None:
    # Independent route: Holm-adjusted p_(k) = max_{j<=k} min(1, (m - j + 1) p_(j)); reject where <= alpha.
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.random(12) ** 3
        order = np.argsort(p)
        adjusted = np.maximum.accumulate(np.minimum(1, (len(p) - np.arange(len(p))) * p[order]))
        expected = np.empty(len(p), dtype=bool)
        expected[order] = adjusted <= 0.05
        assert holm(p).tolist() == expected.tolist()
