"""H-score (Bao, Li, Huang, Zheng, Xu and Qian, "An Information-Theoretic Approach to
Transferability in Task Transfer Learning", ICIP 2019): how well features separate the labels,

    H(f) = tr( cov(f)^+ cov(E[f | y]) ),

the between-class covariance measured in the metric of the inverse feature covariance (a
pseudo-inverse here, since the encoder's features are often rank-deficient). Higher is better.
You et al. (ICML 2021) compare LogME against it; it reads the same features as LogME.
"""

from __future__ import annotations

import numpy as np


def hscore(features: np.ndarray, labels: np.ndarray) -> float:
    """H-score of N x D `features` for N integer class `labels`."""
    f = np.asarray(features, dtype=np.float64)
    f = f - f.mean(axis=0, keepdims=True)
    ids = np.asarray(labels).astype(np.int64)
    if f.ndim != 2 or f.shape[0] != ids.shape[0] or f.shape[0] < 2:
        raise ValueError(f"H-score needs N x D features and N labels, got {f.shape} and {ids.shape}")
    class_means = np.zeros_like(f)
    for label in np.unique(ids):
        rows = ids == label
        class_means[rows] = f[rows].mean(axis=0)
    cov_f = f.T @ f / f.shape[0]
    cov_g = class_means.T @ class_means / f.shape[0]
    return float(np.trace(np.linalg.pinv(cov_f, rcond=1e-10, hermitian=True) @ cov_g))
