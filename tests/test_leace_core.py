"""The closed-form eraser, tested on statistics without the estimator."""

import array_api_compat.numpy as xp
import numpy as np
import pytest
from _helpers import one_hot, weighted_cov

from leace_sklearn._leace import default_tol, erasure_factors, oas_shrinkage
from leace_sklearn._stats import Moments


def _moments(X, Z):
    V = np.column_stack([X, Z])
    return Moments(len(V), float(len(V)), V.mean(0), weighted_cov(V, V) * len(V))


def _residual(m, d, keep, **kw):
    left, right = erasure_factors(xp, m, d, keep, **kw)
    edit = left @ right
    sxz = m.comoment[:d, [d + i for i in keep]] / m.weight
    return np.abs(sxz - edit @ sxz).max() / np.abs(sxz).max(), left.shape[1]


@pytest.mark.parametrize("method", ["leace", "orth"])
@pytest.mark.parametrize("shrinkage", [None, "auto", 0.5])
def test_cross_covariance_is_removed(rng, method, shrinkage):
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    Z = X[:, :2] @ rng.normal(size=(2, 3)) + rng.normal(size=(200, 3))
    res, rank = _residual(
        _moments(X, Z), 6, [0, 1, 2], method=method, shrinkage=shrinkage
    )
    assert rank == 3 and res < 1e-12


def test_singular_covariance_uses_pseudo_inverse(rng):
    X = rng.normal(size=(100, 3))
    X = np.column_stack([X, X[:, 0] - X[:, 1], np.zeros(100)])
    Z = one_hot(rng.integers(0, 3, 100))
    Z = Z + X[:, :1]
    res, rank = _residual(_moments(X, Z), 5, [0, 1, 2])
    assert rank == 3 and res < 1e-10


def test_relative_tol_cuts_small_singular_values(rng):
    X = rng.normal(size=(500, 4))
    Z = np.column_stack([X[:, 0], X[:, 1] * 1e-7 + rng.normal(size=500) * 1e-9])
    m = _moments(X, Z)
    assert _residual(m, 4, [0, 1])[1] == 2
    assert _residual(m, 4, [0, 1], tol=1e-3)[1] == 1


def test_no_kept_columns_gives_empty_factors(rng):
    X = rng.normal(size=(20, 3))
    left, right = erasure_factors(xp, _moments(X, X[:, :1]), 3, [])
    assert left.shape == (3, 0) and right.shape == (0, 3)


def test_oas_matches_scikit_learn(rng):
    from sklearn.covariance import OAS

    X = rng.normal(size=(40, 10)) @ rng.normal(size=(10, 10))
    S = np.cov(X, rowvar=False, bias=True)
    ours = oas_shrinkage(xp, S * 40, 40)  # takes the co-moment matrix
    assert 0 < ours < 1
    assert oas_shrinkage(xp, S * 40 * 1e6, 40) == pytest.approx(ours, rel=1e-12)
    np.testing.assert_allclose(
        ours, OAS(assume_centered=False).fit(X).shrinkage_, rtol=0.05
    )


def test_default_tol_scales_with_size():
    assert default_tol(10, 2) == 10 * np.finfo(np.float64).eps
    assert default_tol(1, 50) > default_tol(1, 2)
