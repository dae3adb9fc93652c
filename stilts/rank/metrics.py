"""How good is a ranking of candidate intermediate tasks, and what would a random ranking score?

`predicted` are a method's scores (higher: rank first); `realized` are the target's realized mean
scores after transfer from each candidate (mean over restarts), in the same candidate order.

- Spearman rho between predicted and realized (average ranks for ties).
- NDCG@k (Järvelin and Kekäläinen, 2002) as Poth et al. (EMNLP 2021, "What to Pre-Train on?
  Efficient Intermediate Task Selection", section 5) use it: the relevance of a candidate is the
  target's realized score after transfer from it; gain = relevance (linear), discount 1/log2(1 + i)
  at position i = 1..k; normalised by the DCG@k of the ideal (realized) order.
- Regret@k (Poth et al., same section): (O - M_k) / O, where O is the best realized score over
  all candidates and M_k the best realized score among the method's top k. 0 when the best
  candidate is in the top k; reported as a fraction (Poth et al. print it in percent).
- Top-3 hit: 1 when the realized best candidate is among the method's top 3, else 0.

Ties in `predicted` are broken by candidate order (stable sort), so every function is deterministic.
Each `random_*` function is the exact expectation over all orderings of the candidates equally likely.
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy.stats import spearmanr


def order(predicted: np.ndarray) -> np.ndarray:
    """Candidate indices from the highest predicted score down (stable for ties)."""
    return np.argsort(-np.asarray(predicted, dtype=np.float64), kind="stable")


def spearman(predicted: np.ndarray, realized: np.ndarray) -> float:
    """Spearman rho; NaN when either side is constant."""
    predicted, realized = np.asarray(predicted, float), np.asarray(realized, float)
    if np.ptp(predicted) == 0 or np.ptp(realized) == 0:
        return float("nan")
    return float(spearmanr(predicted, realized).statistic)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg(predicted: np.ndarray, realized: np.ndarray, k: int = 3) -> float:
    """NDCG@k with the realized scores as (linear) gains; NaN when the ideal DCG is 0."""
    realized = np.asarray(realized, dtype=np.float64)
    k = min(k, realized.size)
    ideal = float(np.sort(realized)[::-1][:k] @ _discounts(k))
    if ideal == 0:
        return float("nan")
    return float(realized[order(predicted)[:k]] @ _discounts(k)) / ideal


def regret(predicted: np.ndarray, realized: np.ndarray, k: int = 1) -> float:
    """Poth et al.'s Regret@k: relative shortfall of the best of the top k from the best of all
    (NaN when the best score is not positive, e.g. an MCC <= 0: the ratio means nothing there)."""
    realized = np.asarray(realized, dtype=np.float64)
    best = realized.max()
    if best <= 0:
        return float("nan")
    return float((best - realized[order(predicted)[:k]].max()) / best)


def top3_hit(predicted: np.ndarray, realized: np.ndarray) -> float:
    """1.0 when a realized best candidate is in the predicted top 3. Candidates tied for the best all
    count (degenerate targets tie often); otherwise the index order would decide the hit."""
    realized = np.asarray(realized, dtype=np.float64)
    best = set(np.flatnonzero(realized == realized.max()).tolist())
    return float(bool(best & set(order(predicted)[:3].tolist())))


def random_spearman(realized: np.ndarray) -> float:
    """Expected Spearman rho of a random ordering: 0, since each ordering and its reverse cancel."""
    return float("nan") if np.ptp(np.asarray(realized, float)) == 0 else 0.0


def random_ndcg(realized: np.ndarray, k: int = 3) -> float:
    """Expected NDCG@k of a random ordering: each position holds each candidate with probability
    1/n, so E[DCG@k] = mean(realized) * sum of the first k discounts."""
    realized = np.asarray(realized, dtype=np.float64)
    k = min(k, realized.size)
    ideal = float(np.sort(realized)[::-1][:k] @ _discounts(k))
    if ideal == 0:
        return float("nan")
    return float(realized.mean() * _discounts(k).sum()) / ideal


def random_regret(realized: np.ndarray, k: int = 1) -> float:
    """Expected Regret@k of a random ordering. The top k is a uniform random k-subset; with the
    realized scores sorted ascending, the j-th (1-based) is the subset's best with probability
    C(j-1, k-1) / C(n, k)."""
    values = np.sort(np.asarray(realized, dtype=np.float64))
    n = values.size
    k = min(k, n)
    weights = np.array([comb(j - 1, k - 1) for j in range(1, n + 1)], dtype=np.float64) / comb(n, k)
    best = values[-1]
    if best <= 0:
        return float("nan")
    return float((best - weights @ values) / best)


def random_top3_hit(realized: np.ndarray) -> float:
    """Probability that a random ordering puts one of the m candidates tied for the best in its top 3:
    1 - C(n - m, 3) / C(n, 3) (min(3, n) / n for a single best)."""
    realized = np.asarray(realized, dtype=np.float64)
    n, m, k = realized.size, int((realized == realized.max()).sum()), min(3, realized.size)
    return 1.0 - comb(n - m, k) / comb(n, k)
