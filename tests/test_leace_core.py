"""The closed-form eraser, tested on statistics without the estimator."""

from dataclasses import replace

import array_api_compat.numpy as xp
import numpy as np
import pytest
from _helpers import leakage, one_hot, weighted_cov

from leace_sklearn._leace import (
    apply_edit,
    default_tol,
    erasure_factors,
    needs_centring,
    oas_shrinkage,
    precision_ridge,
)
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


def test_float32_statistics_load_the_diagonal(rng):
    """Statistics from float32 products whiten a loaded covariance.

    The loading (about 2.4e-7 of each variance) makes a singular covariance
    invertible: the guarantee holds as for any invertible whitening, and the
    edit of the data moves by about the loading only. Float64 statistics
    are left as they are.
    """
    assert precision_ridge(np.finfo(np.float64).eps) == 0.0
    ridge = precision_ridge(np.finfo(np.float32).eps)
    assert 1e-7 < ridge < 1e-5
    n, d = 2000, 7
    X = rng.normal(size=(n, d - 1))
    X = np.column_stack([X, X[:, 0] + X[:, 1] + 0.5])  # singular, off-centre
    Z = one_hot(rng.integers(0, 3, n)) + 0.2 * X[:, :1]
    exact = _moments(X, Z)
    loaded = replace(exact, gram_eps=float(np.finfo(np.float32).eps))
    edits = []
    for m in (exact, loaded):
        res, rank = _residual(m, d, [0, 1])
        assert rank == 2 and res < 1e-12
        left, right = erasure_factors(xp, m, d, [0, 1])
        edits.append(((X - m.mean[:d]) @ right.T) @ left.T)
    change = np.linalg.norm(edits[1] - edits[0]) / np.linalg.norm(edits[0])
    assert 0 < change < 10 * ridge


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


def _factors(rng, d, rank):
    left = rng.normal(size=(d, rank))
    right = rng.normal(size=(rank, d))
    left[1] = 0  # a feature the edit leaves alone
    return left, right


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("layout", ["C", "F", "in place"])
def test_apply_edit_matches_formula(rng, dtype, rank, offset, layout):
    n, d = 700, 6
    X = (rng.normal(size=(n, d)) * [1, 2, 3, 1, 1, 1] + offset).astype(dtype)
    left, right = _factors(rng, d, rank)
    mean = X.mean(axis=0, dtype=np.float64)
    spread = X.std(axis=0, dtype=np.float64)
    if layout == "F":
        X = np.asfortranarray(X)
    given = X.copy() if layout == "in place" else X
    out = given if layout == "in place" else np.empty(X.shape, dtype=dtype)
    # Small chunks, so that there are many, the last one shorter.
    got = apply_edit(
        xp,
        given,
        out,
        left,
        right,
        mean=mean,
        alpha=0.7,
        spread=spread,
        chunk_bytes=64 * d * X.itemsize,
    )
    assert got is out and got.dtype == dtype
    X64 = X.astype(np.float64)
    want = X64 - 0.7 * ((X64 - mean) @ right.T) @ left.T
    edit = np.abs(want - X64).max()
    eps = np.finfo(dtype).eps
    assert np.abs(got - want).max() <= 50 * eps * (np.abs(X64).max() + edit)
    np.testing.assert_array_equal(got[:, 1], X[:, 1])


def test_centring_is_skipped_only_where_it_cannot_matter(rng):
    right = rng.normal(size=(2, 5))
    spread = np.ones(5)
    assert not needs_centring(np.full(5, 0.5), right, spread)
    assert needs_centring(np.full(5, 3.0), right, spread)
    assert needs_centring(np.zeros(5), right, None)
    assert not needs_centring(None, right, spread)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("in_place", [False, True])
def test_apply_edit_reports_non_finite_chunks(rng, bad, in_place):
    X = rng.normal(size=(400, 5))
    X[321, 2] = bad
    left, right = _factors(rng, 5, 2)
    seen = []

    def check(chunk):
        seen.append(chunk.copy())
        if not np.all(np.isfinite(chunk)):
            raise ValueError("not finite")

    out = X if in_place else np.empty_like(X)
    with pytest.raises(ValueError, match="not finite"):
        apply_edit(xp, X, out, left, right, mean=X[:300].mean(0), check=check)
    assert len(seen) == 1 and not np.all(np.isfinite(seen[0]))


def test_apply_edit_huge_finite_rows_are_not_poisoned(rng):
    """A row whose sum overflows is checked, found finite, and edited."""
    X = rng.normal(size=(50, 3))
    X[7, :2] = 1.5e308
    left = np.array([[0.0], [0.0], [1.0]])
    right = np.array([[0.0, 0.0, 1.0]])
    checked = []
    out = apply_edit(xp, X, np.empty_like(X), left, right, check=checked.append)
    assert len(checked) == 1
    np.testing.assert_array_equal(out[:, :2], X[:, :2])
    np.testing.assert_array_equal(out[:, 2], 0.0)


def test_apply_edit_centres_float32_far_from_zero(rng):
    """Centred first, the edit of float32 data far from zero is exact up to
    the output's own rounding; uncentred, cancellation would cost more."""
    X = (rng.normal(size=(2000, 8)) + 1e4).astype(np.float32)
    left, right = _factors(rng, 8, 2)
    mean = X.mean(axis=0, dtype=np.float64)
    spread = X.std(axis=0, dtype=np.float64)
    got = apply_edit(xp, X, np.empty_like(X), left, right, mean=mean, spread=spread)
    # The mean is used rounded to float32, like the data.
    X64, mean32 = X.astype(np.float64), mean.astype(np.float32).astype(np.float64)
    want = X64 - ((X64 - mean32) @ right.T) @ left.T
    assert np.abs(got - want).max() <= np.spacing(np.float32(1e4))


@pytest.mark.parametrize("chunk_bytes", [None, 4096])  # one chunk; 18, ragged
@pytest.mark.parametrize("in_place", [False, True])
def test_linear_edit_towards_the_origin_rounds_at_the_output_scale(
    rng, in_place, chunk_bytes
):
    """A linear map that removes a large mean (affine=False can) leaves
    float32 outputs far smaller than the inputs; they are rounded at their
    own scale, not at the inputs' (float32 arithmetic would leave errors of
    ulp(1e4) = 1e-3 on outputs of size 1)."""
    d = 3
    X = (rng.normal(size=(3000, d)) + 1e4).astype(np.float32)
    u = np.ones((d, 1)) / np.sqrt(d)  # the offset's direction
    left, right = u, u.T
    mean = X.mean(axis=0, dtype=np.float64)
    spread = X.std(axis=0, dtype=np.float64)
    given = X.copy()
    out = given if in_place else np.empty_like(X)
    got = apply_edit(
        xp,
        given,
        out,
        left,
        right,
        mean=mean,
        spread=spread,
        linear=True,
        chunk_bytes=chunk_bytes,
    )
    assert got is out and got.dtype == np.float32
    X64 = X.astype(np.float64)
    want = X64 - (X64 @ right.T) @ left.T
    assert np.abs(want).max() < 10  # the outputs are small
    assert np.abs(got - want).max() <= 2 * np.spacing(np.float32(10))


def test_affine_false_float32_with_large_offsets_keeps_the_guarantee():
    """A case hypothesis found: four rows, one class each, far from zero;
    the linear eraser moves the second column from about 5 700 to 5."""
    X = np.array(
        [
            [1.5615088e02, 5.7697539e03, -9.0822533e01, 1.8701692e-01],
            [2.1494133e02, 5.5609849e03, -3.1828079e02, 2.1628863e-01],
            [2.8791699e02, 5.6498530e03, -1.4422685e02, 1.8820891e-01],
            [2.4357797e02, 5.7935361e03, 1.5068694e01, 2.2018726e-01],
        ],
        dtype=np.float32,
    )
    from leace_sklearn import LeaceTransformer

    est = LeaceTransformer(affine=False, shrinkage="auto").fit(X, concept=np.arange(4))
    out = est.transform(X)
    assert out.dtype == np.float32
    assert leakage(X, out, np.eye(4)) < 1e-4
