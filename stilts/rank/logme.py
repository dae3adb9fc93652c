"""LogME: the log maximum evidence of a Bayesian linear model of labels on features.

You, Liu, Wang and Long, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
ICML 2021. This follows the authors' reference implementation (github.com/thuml/LogME, LogME.py,
`_fit_fixed_point`, its default): per label column, a fixed-point iteration on the prior precision
alpha and noise precision beta in the SVD basis of the features, at most 11 steps, stopping when
alpha/beta moves by at most 0.1%; the score is the evidence per example, averaged over columns.
Everything is float64. tests/unit/test_rank_logme.py checks it against values the reference computed.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-5  # the reference adds it to both sums of squares (guards a perfect fit)
MAX_STEPS = 11
TOLERANCE = 1e-3


def _svd(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD of an N x D matrix. With N > D, through the D x D Gram matrix (cheap for many
    examples), dropping directions whose singular value is below 1e-10, as the reference does."""
    n, d = features.shape
    if n <= d:
        return np.linalg.svd(features, full_matrices=False)
    _, s2, vh = np.linalg.svd(features.T @ features)
    s = np.sqrt(s2)
    keep = s > 1e-10
    s, vh = s[keep], vh[keep]
    u = (features @ vh.T) / s[None, :]
    return u, s, vh


def _column_evidence(u: np.ndarray, sigma: np.ndarray, y: np.ndarray, d: int) -> float:
    """Maximum evidence per example of one label column `y` (length N)."""
    n = y.shape[0]
    x2 = (u.T @ y) ** 2
    # Projections on directions with a zero singular value are not in `u`: their sum of squares is
    # what `u` leaves of |y|^2.
    rest = float(y @ y - x2.sum())
    alpha, beta = 1.0, 1.0
    for _ in range(MAX_STEPS):
        t = alpha / beta
        gamma = float((sigma / (sigma + t)).sum())
        m2 = float((sigma * x2 / (t + sigma) ** 2).sum())
        res2 = float((x2 / (1 + sigma / t) ** 2).sum()) + rest
        alpha = gamma / (m2 + EPSILON)
        beta = (n - gamma) / (res2 + EPSILON)
        if abs(alpha / beta - t) / t <= TOLERANCE:
            break
    evidence = (
        d / 2.0 * np.log(alpha)
        + n / 2.0 * np.log(beta)
        - 0.5 * np.sum(np.log(alpha + beta * sigma))
        - beta / 2.0 * res2
        - alpha / 2.0 * m2
        - n / 2.0 * np.log(2 * np.pi)
    )
    return float(evidence / n)


def logme(features: np.ndarray, labels: np.ndarray, regression: bool = False) -> float:
    """LogME score of `features` for `labels` (higher: the features fit the labels better).

    Args:
        features: N x D feature matrix (any float dtype; computed in float64).
        labels: classification: N integer class ids in [0, C) (one-hot columns are formed, one per
            class up to the largest id); regression: N or N x K real targets.
        regression: whether `labels` are real-valued targets.

    Returns:
        The mean over label columns of the log evidence per example.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"LogME needs an N x D feature matrix with N >= 2, got shape {f.shape}")
    if regression:
        y = np.asarray(labels, dtype=np.float64).reshape(f.shape[0], -1)
    else:
        ids = np.asarray(labels).astype(np.int64).reshape(-1)
        if ids.shape[0] != f.shape[0] or ids.min() < 0:
            raise ValueError("LogME classification labels must be N class ids >= 0")
        y = (ids[:, None] == np.arange(ids.max() + 1)[None, :]).astype(np.float64)
    u, s, _ = _svd(f)
    sigma = s**2
    return float(np.mean([_column_evidence(u, sigma, y[:, k], f.shape[1]) for k in range(y.shape[1])]))
