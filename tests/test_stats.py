"""The sufficient statistics, tested without the estimator."""

import array_api_compat.numpy as xp
import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import weighted_cov

from leace_sklearn import _stats
from leace_sklearn._concept import CATEGORICAL, NUMERIC, EncodedConcept
from leace_sklearn._stats import batch_moments, embed_moments, merge_moments


def _moments(V, w=None, d=None, shift=None):
    d = V.shape[1] - 2 if d is None else d
    X, Z = V[:, :d], V[:, d:].astype(np.float64)
    k = Z.shape[1]
    concept = EncodedConcept([Z[:, j] for j in range(k)], [1] * k, [NUMERIC] * k)
    return batch_moments(xp, X, concept, w, shift=shift)


def _reference(V, w=None):
    V = V.astype(np.float64)
    w = np.ones(len(V)) if w is None else w
    mean = w @ V / w.sum()
    return w.sum(), mean, weighted_cov(V, V, w) * w.sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_batch_moments_match_two_pass_formula(rng, weighted):
    V = rng.normal(size=(500, 6)) * [1, 10, 100, 1, 1, 1] + 7
    w = rng.uniform(0, 2, size=500) if weighted else None
    m = _moments(V, w)
    weight, mean, comoment = _reference(V, w)
    assert m.n_samples == 500
    np.testing.assert_allclose(m.weight, weight, rtol=1e-12)
    np.testing.assert_allclose(m.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(m.comoment, comoment, rtol=1e-10, atol=1e-9)


def test_many_chunks_equal_one(rng, monkeypatch):
    V = rng.normal(size=(1000, 5)) + 3
    one = _moments(V)
    # 5 float64 columns + 1: force chunks of 256 rows.
    monkeypatch.setattr(_stats, "CHUNK_BYTES", 256 * 6 * 8)
    assert _stats.chunk_rows(6, 8, 1000) == 250  # 4 even chunks
    many = _moments(V)
    np.testing.assert_allclose(many.comoment, one.comoment, rtol=1e-12)
    np.testing.assert_allclose(many.mean, one.mean, rtol=1e-14)


def test_merge_is_exact_and_associative(rng):
    V = rng.normal(size=(300, 4)) * 5 + 100
    parts = [V[:1], V[1:90], V[90:]]
    merged = None
    for part in parts:
        merged = merge_moments(xp, merged, _moments(part, d=2))
    weight, mean, comoment = _reference(V)
    np.testing.assert_allclose(merged.mean, mean, rtol=1e-13)
    np.testing.assert_allclose(merged.comoment, comoment, rtol=1e-10)
    assert merged.n_samples == 300


def test_float32_large_offset_no_cancellation(rng):
    """A shift close to the mean keeps float32 statistics accurate."""
    base = rng.normal(size=(100_000, 3))
    V32 = (base + 1e4).astype(np.float32)
    m = _moments(V32, d=2)
    _, mean, comoment = _reference(V32)
    np.testing.assert_allclose(m.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(m.comoment, comoment, rtol=1e-4)


@pytest.mark.parametrize("offset", [0.0, 0.9, 1e4])
def test_float32_one_offset_column_is_shifted(rng, offset):
    """The shift is skipped only when every column is near-centred.

    One column far from the origin among centred ones must still be
    shifted: unshifted, its float32 sum of squares (about 1e8 n) would leave
    nothing of its unit variance. Near-centred data, shifted or not, keeps
    float32 accuracy.
    """
    base = rng.normal(size=(50_000, 4))
    base[:, 1] += offset
    V32 = base.astype(np.float32)
    shift = _stats._head_shift(xp, V32[:, :3], 64)
    assert np.any(shift != 0) == (offset > 1)
    m = _moments(V32, d=3)
    _, mean, comoment = _reference(V32)
    scale = np.sqrt(np.diag(comoment))
    # The mean to float32 rounding of a standard deviation.
    np.testing.assert_allclose(m.mean, mean, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        m.comoment / np.outer(scale, scale),
        comoment / np.outer(scale, scale),
        atol=2e-5,
    )


def test_one_hot_columns_are_exact_in_float32(rng):
    """Indicator columns are written unshifted: 0 and 1 are exact."""
    X = (rng.normal(size=(500, 3)) + 1e3).astype(np.float32)
    codes = rng.integers(0, 3, size=500)
    concept = EncodedConcept([codes], [3], ["categorical"])
    m = batch_moments(xp, X, concept, None)
    counts = np.bincount(codes, minlength=3)
    np.testing.assert_array_equal(m.mean[3:] * 500, counts)
    np.testing.assert_array_equal(concept.dense(), np.eye(3)[codes])


def test_embed_moments_inserts_zero_columns(rng):
    V = rng.normal(size=(50, 3))
    m = _moments(V, d=1)
    wide = embed_moments(xp, m, [0, 2, 4], 5)
    np.testing.assert_array_equal(wide.mean[[1, 3]], 0)
    np.testing.assert_array_equal(wide.comoment[[1, 3]], 0)
    np.testing.assert_array_equal(wide.comoment[[0, 2, 4]][:, [0, 2, 4]], m.comoment)


@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_chunks_change_nothing(rng, monkeypatch, dtype, weighted, cross):
    """Many chunks, each with the concept written into its strided columns,
    equal the two-pass moments, a one-hot and a numeric concept column
    included; cross moments equal the columns of ``z`` and the diagonal of
    them."""
    n = 1010
    X = (rng.normal(size=(n, 5)) * [1, 10, 1, 1, 100] + 50).astype(dtype)
    codes = rng.integers(0, 3, size=n)
    age = rng.normal(40.0, 10.0, size=n)
    concept = EncodedConcept([codes, age], [3, 1], [CATEGORICAL, NUMERIC])
    w = rng.uniform(0, 2, size=n) if weighted else None
    itemsize = np.dtype(dtype).itemsize
    # Chunks of at most 40 rows of the 12 padded columns: 26 chunks of 39
    # rows, the last one of 35.
    monkeypatch.setattr(_stats, "CACHE_BYTES", 1)
    monkeypatch.setattr(_stats, "CHUNK_BYTES", 40 * 12 * itemsize)
    m = batch_moments(xp, X, concept, w, cross=cross)
    assert m.cross == cross
    V = np.column_stack([X.astype(np.float64), concept.dense()])
    weight, mean, comoment = _reference(V, w)
    # float32 rounds the weights too (the same rounded ones for everything).
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(m.weight, weight, rtol=rtol)
    np.testing.assert_allclose(m.mean, mean, rtol=rtol)
    diagonal = np.diagonal(comoment)
    scale = np.sqrt(np.outer(diagonal, diagonal))
    if cross:
        assert m.comoment.shape == (9, 4)
        comoment, scale = comoment[:, 5:], scale[:, 5:]
    assert np.abs(m.comoment - comoment).max() < rtol * scale.max()
    np.testing.assert_allclose(m.comoment_diagonal(xp), diagonal, rtol=10 * rtol)
    np.testing.assert_array_equal(m.with_concept(5), m.comoment[:, -4:])


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_moments_merge_and_embed_as_the_full_ones(rng, weighted):
    """Cross moments are the full ones restricted, through every operation:
    a batch (sparse rows too), the merge of uneven batches, and re-indexing
    for a category first seen later."""
    n, d = 400, 4
    X = rng.normal(size=(n, d)) * [1, 10, 100, 1] + 30
    X[:, 3] = 0.0  # a constant column
    codes = rng.integers(0, 2, size=n)
    codes[300:] = rng.integers(0, 3, size=100)  # class 2 arrives late
    w = rng.uniform(0, 2, size=n) if weighted else None

    def batch(rows, cross, k):
        concept = EncodedConcept([codes[rows]], [k], [CATEGORICAL])
        weights = None if w is None else w[rows]
        X_rows = sp.csr_matrix(X[rows]) if rows.start == 0 else X[rows]
        return batch_moments(xp, X_rows, concept, weights, cross=cross)

    def check(c, f):
        assert c.cross and not f.cross
        assert (c.n_samples, c.weight) == (f.n_samples, f.weight)
        np.testing.assert_allclose(c.mean, f.mean, rtol=1e-13, atol=1e-13)
        scale = np.abs(f.comoment).max()
        np.testing.assert_allclose(c.comoment, f.comoment[:, d:], atol=1e-12 * scale)
        np.testing.assert_allclose(
            c.diagonal, np.diagonal(f.comoment), rtol=1e-12, atol=1e-12
        )

    parts = [slice(0, 1), slice(1, 120), slice(120, 300)]
    merged = {}
    for cross in (False, True):
        m = None
        for part in parts:
            m = merge_moments(xp, m, batch(part, cross, 2))
        m = embed_moments(xp, m, [0, 1, 2, 3, 4, 5], d + 3)
        merged[cross] = merge_moments(xp, m, batch(slice(300, n), cross, 3))
    check(merged[True], merged[False])
    one = batch(slice(0, n), False, 3)
    check(merged[True], one)
    with pytest.raises(ValueError, match="cross"):
        merge_moments(xp, merged[True], merged[False])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_comoment_is_exactly_symmetric(rng, dtype):
    m = _moments((rng.normal(size=(300, 6)) * 3 + 5).astype(dtype))
    np.testing.assert_array_equal(m.comoment, m.comoment.T)


@pytest.mark.parametrize("offset", [0.0, 50.0])
def test_float32_moments_do_not_depend_on_the_layout(rng, offset):
    """Rows of a C-ordered array are multiplied in place, others copied.

    Both give the very same products (the copy is C-ordered too), shifted
    (far from the origin) or not.
    """
    X = (rng.normal(size=(3000, 7)) + offset).astype(np.float32)
    codes = rng.integers(0, 3, size=3000)
    concept = EncodedConcept([codes], [3], [CATEGORICAL])
    layouts = [X, np.asfortranarray(X), np.hstack([X, X])[:, :7]]
    moments = [batch_moments(xp, V, concept, None) for V in layouts]
    for m in moments[1:]:
        np.testing.assert_array_equal(m.comoment, moments[0].comoment)
        np.testing.assert_array_equal(m.mean, moments[0].mean)


# d = 5, 6, 8: the padded float64 product starts at column d - 1, d - 2, d.
@pytest.mark.parametrize("d", [5, 6, 8])
@pytest.mark.parametrize("namespace", ["numpy", "torch"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cross", [False, True])
def test_float32_moments_with_z_are_float64_accurate(
    rng, namespace, weighted, cross, d
):
    """What the guarantee rests on is summed in float64 for float32 data.

    The co-moments with z, the means and the weight sum decide the
    cross-covariance left after erasure; summed in float32 they carried
    relative errors of about 1e-6 (and float32 square roots of the weights
    1e-7). Only the feature covariance keeps float32 accuracy. Centred data
    is not shifted, so the float32 values enter the products unrounded.
    """
    n = 20_000
    X = rng.normal(size=(n, d)).astype(np.float32)
    codes = rng.integers(0, 3, size=n)
    number = 0.3 * X[:, 0] + rng.normal(size=n)
    w = rng.integers(0, 5, size=n).astype(np.float64) if weighted else None
    concept = EncodedConcept([codes, number], [3, 1], [CATEGORICAL, NUMERIC])
    if namespace == "torch":
        torch = pytest.importorskip("torch")
        import array_api_compat.torch as xpt

        tw = None if w is None else torch.from_numpy(w)
        concept = concept.to(xpt, "cpu")
        m = batch_moments(xpt, torch.from_numpy(X), concept, tw, cross=cross)
    else:
        m = batch_moments(xp, X, concept, w, cross=cross)
    V = np.column_stack([X.astype(np.float64), np.eye(3)[codes], number])
    weight, mean, comoment = _reference(V, w)
    scale = np.sqrt(np.diag(comoment))
    assert m.gram_eps == (np.finfo(np.float64 if cross else np.float32).eps)
    np.testing.assert_allclose(m.weight, weight, rtol=1e-14)
    spread = scale / np.sqrt(weight)
    assert (np.abs(np.asarray(m.mean) - mean) / spread).max() < 1e-13
    with_z = np.asarray(m.with_concept(d))
    error = np.abs(with_z - comoment[:, d:]) / np.outer(scale, scale[d:])
    assert error.max() < 1e-12
    if not cross:
        error = np.abs(np.asarray(m.comoment) - comoment) / np.outer(scale, scale)
        assert error.max() < 1e-5  # float32 products of the features


def test_float32_moments_remember_their_precision(rng):
    """Merged with float64 batches, float32 statistics stay float32's."""
    V = rng.normal(size=(200, 5))
    m64 = _moments(V)
    m32 = _moments(V.astype(np.float32))
    assert m64.gram_eps == np.finfo(np.float64).eps
    assert m32.gram_eps == np.finfo(np.float32).eps
    for merged in (merge_moments(xp, m64, m32), merge_moments(xp, m32, m64)):
        assert merged.gram_eps == np.finfo(np.float32).eps
    embedded = embed_moments(xp, m32, [0, 1, 2, 4, 3], 6)
    assert embedded.gram_eps == m32.gram_eps
