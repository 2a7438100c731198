"""Shared helpers for the tests: data generators and the guarantee's measure."""

import numpy as np


def one_hot(z):
    """Dense one-hot matrix of a 1-D label vector (classes sorted)."""
    classes, codes = np.unique(np.asarray(z), return_inverse=True)
    return (codes.ravel()[:, None] == np.arange(len(classes))).astype(np.float64)


def weighted_cov(A, B, w=None):
    """Weighted cross-covariance of the columns of A and B, in float64."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    w = np.ones(A.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    w = w / w.sum()
    Ac = A - w @ A
    Bc = B - w @ B
    return (Ac * w[:, None]).T @ Bc


def leakage(X_before, X_after, Z, w=None):
    """Largest cross-covariance of the output with Z, relative to each scale.

    Entry (j, c) is divided by std(X_before[:, j]) * std(Z[:, c]), so the
    measure is that of a correlation and does not depend on feature scales.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[:, None]
    cov = weighted_cov(X_after, Z, w)
    sx = np.sqrt(np.clip(np.diagonal(weighted_cov(X_before, X_before, w)), 0, None))
    sz = np.sqrt(np.clip(np.diagonal(weighted_cov(Z, Z, w)), 0, None))
    denom = np.outer(sx, sz)
    ok = denom > 0
    return float(np.max(np.abs(cov[ok]) / denom[ok], initial=0.0))


def make_concept_data(rng, n=400, d=6, k=3, *, offset=0.0, signal=2.0, p=None):
    """Correlated Gaussian features whose class means depend on a k-class label."""
    z = rng.choice(k, size=n, p=p)
    mixing = rng.normal(size=(d, d))
    X = rng.normal(size=(n, d)) @ mixing
    X += signal * one_hot(np.r_[np.arange(k), z])[k:] @ rng.normal(size=(k, d))
    return X + offset, z
