"""Ranking metrics on hand-worked examples; random baselines against brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from stilts.rank import metrics

# Four candidates A, B, C, D with realized target scores after transfer.
REALIZED = np.array([0.60, 0.80, 0.50, 0.70])
# The method ranks C first, then B, A, D.
PREDICTED = np.array([2.0, 3.0, 4.0, 1.0])


def test_ndcg_at_3_hand_worked() -> None:
    # Predicted top 3: C (0.5), B (0.8), A (0.6): DCG = 0.5/1 + 0.8/log2(3) + 0.6/2.
    # Ideal top 3: B (0.8), D (0.7), A (0.6): IDCG = 0.8 + 0.7/log2(3) + 0.6/2.
    dcg = 0.5 + 0.8 / math.log2(3) + 0.3
    idcg = 0.8 + 0.7 / math.log2(3) + 0.3
    assert metrics.ndcg(PREDICTED, REALIZED, k=3) == pytest.approx(dcg / idcg)
    assert metrics.ndcg(REALIZED, REALIZED, k=3) == pytest.approx(1.0)


def test_regret_hand_worked() -> None:
    # Best overall B = 0.8. Top 1 = C (0.5): (0.8 - 0.5) / 0.8 = 0.375. Top 3 holds B: 0.
    assert metrics.regret(PREDICTED, REALIZED, k=1) == pytest.approx(0.375)
    assert metrics.regret(PREDICTED, REALIZED, k=3) == 0.0
    # Ranking D, A first: top 2 best = D 0.7 -> (0.8 - 0.7) / 0.8 = 0.125.
    assert metrics.regret(np.array([3.0, 0.0, 1.0, 4.0]), REALIZED, k=2) == pytest.approx(0.125)


def test_spearman_and_top3_hand_worked() -> None:
    # Predicted ranks (1 = lowest): A 2, B 3, C 4, D 1; realized ranks: A 2, B 4, C 1, D 3.
    # d = [0, -1, 3, -2], sum d^2 = 14, rho = 1 - 6 * 14 / (4 * 15) = -0.4.
    assert metrics.spearman(PREDICTED, REALIZED) == pytest.approx(-0.4)
    assert metrics.top3_hit(PREDICTED, REALIZED) == 1.0
    assert metrics.top3_hit(np.array([1.0, 0.0, 3.0, 2.0]), REALIZED) == 0.0


def _enumerated(fn, realized: np.ndarray, **kwargs) -> float:
    perms = itertools.permutations(range(realized.size))
    values = [fn(np.array(perm, dtype=float), realized, **kwargs) for perm in perms]
    return float(np.mean(values))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_random_baselines_equal_enumeration(k: int) -> None:
    realized = np.array([0.61, 0.55, 0.72, 0.40, 0.66])
    assert metrics.random_regret(realized, k) == pytest.approx(_enumerated(metrics.regret, realized, k=k))
    assert metrics.random_ndcg(realized, k) == pytest.approx(_enumerated(metrics.ndcg, realized, k=k))
    assert metrics.random_top3_hit(realized) == pytest.approx(_enumerated(metrics.top3_hit, realized))
    expected_rho = _enumerated(metrics.spearman, realized)
    assert metrics.random_spearman(realized) == pytest.approx(expected_rho, abs=1e-12)


def test_top3_hit_counts_every_candidate_tied_for_the_best() -> None:
    realized = np.array([0.5, 0.7, 0.5, 0.7, 0.6, 0.7])  # three candidates tie for the best
    assert metrics.top3_hit(np.array([6.0, 1.0, 5.0, 2.0, 4.0, 3.0]), realized) == 0.0
    assert metrics.top3_hit(np.array([6.0, 1.0, 5.0, 2.0, 3.0, 4.0]), realized) == 1.0  # index 5 is third
    # 1 - C(3, 3) / C(6, 3) = 0.95, and equal to enumerating every ordering
    assert metrics.random_top3_hit(realized) == pytest.approx(0.95)
    assert metrics.random_top3_hit(realized) == pytest.approx(_enumerated(metrics.top3_hit, realized))


def test_random_regret_at_1_hand_worked() -> None:
    # Each candidate first with probability 1/4: mean of (0.8 - x) / 0.8 = (0.2 + 0 + 0.3 + 0.1) / 4 / 0.8.
    assert metrics.random_regret(REALIZED, 1) == pytest.approx(0.6 / 4 / 0.8)


def test_regret_is_undefined_without_a_positive_best_score() -> None:
    scores = np.array([-0.1, 0.0, -0.3])
    assert np.isnan(metrics.regret(np.array([1.0, 2.0, 3.0]), scores, 1))
    assert np.isnan(metrics.random_regret(scores, 1))
