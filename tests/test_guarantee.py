"""The defining properties of the eraser, for every parameter combination."""

import itertools

import numpy as np
import pytest
from _helpers import leakage, make_concept_data, one_hot, weighted_cov
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from leace_sklearn import LeaceTransformer

PARAMS = [
    dict(method=m, affine=a, shrinkage=s)
    for m, a, s in itertools.product(
        ["leace", "orth"], [True, False], [None, "auto", 0.3]
    )
]


def _ids(p):
    return "-".join(f"{k}={v}" for k, v in p.items())


@pytest.mark.parametrize("params", PARAMS, ids=_ids)
def test_zero_cross_covariance(rng, params):
    X, z = make_concept_data(rng, n=500, d=8, k=4, offset=3.0)
    est = LeaceTransformer(**params).fit(X, concept=z)
    X_new = est.transform(X)
    assert leakage(X, X, one_hot(z)) > 0.1  # there was something to erase
    assert leakage(X, X_new, one_hot(z)) < 1e-10
    # The edit has rank at most k - 1 (one-hot columns sum to one).
    assert est.rank_ == 3
    assert np.linalg.matrix_rank(X_new - X, tol=1e-8 * np.abs(X).max()) <= 3
    # Idempotent: erasing the erased data changes nothing.
    np.testing.assert_allclose(est.transform(X_new), X_new, atol=1e-10, rtol=0)
    # Class-conditional means are all equal after erasure.
    means = np.array([X_new[z == c].mean(axis=0) for c in range(4)])
    np.testing.assert_allclose(means, means[:1].repeat(4, 0), atol=1e-9)
    if params["affine"]:
        np.testing.assert_allclose(X_new.mean(axis=0), X.mean(axis=0), atol=1e-10)


@pytest.mark.parametrize("params", PARAMS[:4], ids=_ids)
def test_linear_probes_learn_nothing(rng, params):
    X, z = make_concept_data(rng, n=400, d=5, k=2, offset=1.0)
    X_new = LeaceTransformer(**params).fit(X, concept=z).transform(X)
    before = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, z)
    assert np.abs(before.coef_).max() > 0.1
    # Newton steps converge to machine precision, unlike lbfgs.
    lr = LogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X_new, z)
    assert np.abs(lr.coef_).max() < 1e-8
    # liblinear penalises the intercept like a weight, so a constant offset
    # could leak into coef_; centred data makes w = 0 optimal for any bias.
    svm = LinearSVC(tol=1e-12, max_iter=100_000).fit(X_new - X_new.mean(0), z)
    assert np.abs(svm.coef_).max() < 1e-8


def test_matches_paper_closed_form(rng):
    """method='leace' equals P = W^+ P_{W S_xz} W with W = S_xx^{-1/2}."""
    X, z = make_concept_data(rng, n=300, d=6, k=3)
    Z = one_hot(z)
    sxx = weighted_cov(X, X)
    sxz = weighted_cov(X, Z)
    evals, evecs = np.linalg.eigh(sxx)
    W = evecs @ np.diag(evals**-0.5) @ evecs.T
    W_pinv = evecs @ np.diag(evals**0.5) @ evecs.T
    U, s, _ = np.linalg.svd(W @ sxz, full_matrices=False)
    U = U[:, s > 1e-12 * s[0]]
    P = W_pinv @ U @ U.T @ W
    expected = X - (X - X.mean(axis=0)) @ P.T
    est = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(est.transform(X), expected, atol=1e-10)
    np.testing.assert_allclose(est.proj_left_ @ est.proj_right_, P, atol=1e-10)


def _displacement(X, edit):
    Xc = X - X.mean(axis=0)
    return float(np.mean(np.sum((Xc @ edit.T) ** 2, axis=1)))


def test_least_squares_optimal(rng):
    """No other feasible affine eraser moves the data less than LEACE."""
    X, z = make_concept_data(rng, n=400, d=7, k=3)
    sxz = weighted_cov(X, one_hot(z))
    est = LeaceTransformer().fit(X, concept=z)
    edit = est.proj_left_ @ est.proj_right_
    best = _displacement(X, edit)
    # Every eraser is x - E (x - mean) with E S_xz = S_xz; E + D stays feasible
    # whenever D S_xz = 0.
    null = np.eye(7) - sxz @ np.linalg.pinv(sxz)
    for _ in range(20):
        D = rng.normal(size=(7, 7)) @ null * 10 ** rng.uniform(-4, 0)
        assert np.abs((edit + D) @ sxz - sxz).max() < 1e-8
        assert _displacement(X, edit + D) > best
    orth = LeaceTransformer(method="orth").fit(X, concept=z)
    assert best <= _displacement(X, orth.proj_left_ @ orth.proj_right_)


def test_orth_is_orthogonal_projection(rng):
    X, z = make_concept_data(rng, n=200, d=5, k=3)
    est = LeaceTransformer(method="orth").fit(X, concept=z)
    P = est.proj_left_ @ est.proj_right_
    np.testing.assert_allclose(P, P.T, atol=1e-12)
    np.testing.assert_allclose(P @ P, P, atol=1e-12)


def test_alpha_interpolates(rng):
    X, z = make_concept_data(rng, n=200, d=4, k=2)
    full = LeaceTransformer().fit(X, concept=z).transform(X)
    half = LeaceTransformer(alpha=0.5).fit(X, concept=z).transform(X)
    none = LeaceTransformer(alpha=0.0).fit(X, concept=z).transform(X)
    np.testing.assert_allclose(half, (X + full) / 2, atol=1e-12)
    np.testing.assert_array_equal(none, X)


def test_linear_map_when_not_affine(rng):
    X, z = make_concept_data(rng, n=200, d=4, k=2, offset=5.0)
    est = LeaceTransformer(affine=False).fit(X, concept=z)
    np.testing.assert_allclose(est.transform(np.zeros((1, 4))), 0.0, atol=1e-12)
    np.testing.assert_allclose(
        est.transform(2 * X), 2 * est.transform(X), rtol=1e-12, atol=1e-9
    )


def test_several_attributes_and_numeric_concept(rng):
    X, z = make_concept_data(rng, n=600, d=10, k=3)
    age = X[:, 0] * 3 + rng.normal(size=600)  # a numeric concept
    sex = (X[:, 1] + rng.normal(size=600) > 0).astype(int)
    concept = np.column_stack([z, sex, age]).astype(object)
    concept[:, 2] = age  # keep the numeric column float
    both = {"z": z, "sex": sex, "age": age}
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(both)
    est = LeaceTransformer().fit(X, concept=frame)
    Z = np.column_stack([one_hot(z), one_hot(sex), age])
    assert leakage(X, est.transform(X), Z) < 1e-10
    assert est.rank_ == 2 + 1 + 1
    assert isinstance(est.classes_, list) and est.classes_[2] is None
    np.testing.assert_array_equal(est.classes_[1], [0, 1])


def test_numeric_concept_1d(rng):
    X = rng.normal(size=(300, 5))
    age = X @ rng.normal(size=5) + rng.normal(size=300)
    est = LeaceTransformer().fit(X, concept=age)
    assert est.classes_ is None and est.rank_ == 1
    assert leakage(X, est.transform(X), age) < 1e-10


@pytest.mark.parametrize("params", PARAMS, ids=_ids)
def test_weighted_guarantee(rng, params):
    X, z = make_concept_data(rng, n=300, d=6, k=3)
    w = rng.uniform(0.0, 3.0, size=300)
    X_new = LeaceTransformer(**params).fit(X, concept=z, sample_weight=w).transform(X)
    assert leakage(X, X_new, one_hot(z), w) < 1e-10


def test_integer_weights_equal_repeated_rows(rng):
    X, z = make_concept_data(rng, n=100, d=4, k=3)
    w = rng.integers(0, 4, size=100)
    weighted = LeaceTransformer().fit(X, concept=z, sample_weight=w)
    repeated = LeaceTransformer().fit(np.repeat(X, w, axis=0), concept=np.repeat(z, w))
    np.testing.assert_allclose(weighted.transform(X), repeated.transform(X), atol=1e-10)


@pytest.mark.parametrize("params", PARAMS, ids=_ids)
@pytest.mark.parametrize("value", [0.0, 0.1])
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("lead", [0, 70], ids=["spread", "leading"])
def test_zero_weight_rows_are_dropped_rows(params, value, seed, lead):
    """Rows of weight 0 count as absent, also for which columns are constant.

    The last column is constant on the rows that count and differs on the
    others (among the first rows, which choose the shift): it must be left
    alone, as it is when those rows are dropped, and the eraser applied to
    every row must be the same, also when the first rows all have weight 0.
    (Taken as varying, such a column's variance is rounding noise, which
    whitening amplifies; it is negative for some draws, so several are
    tried.)
    """
    rng = np.random.default_rng(seed)
    # Far from the origin, so that the data are shifted before the products.
    X, z = make_concept_data(rng, n=300, d=5, k=3, offset=100.0)
    w = rng.integers(1, 4, size=300).astype(float)
    w[::7] = 0.0
    w[:lead] = 0.0
    X = np.c_[X, np.where(w == 0, 1.0, value)]
    kept = w > 0
    weighted = LeaceTransformer(**params).fit(X, concept=z, sample_weight=w)
    dropped = LeaceTransformer(**params).fit(
        X[kept], concept=z[kept], sample_weight=w[kept]
    )
    scale = np.abs(X).max()
    np.testing.assert_allclose(
        weighted.transform(X), dropped.transform(X), rtol=0, atol=1e-9 * scale
    )


def test_rare_class_and_weak_signal_are_erased(rng):
    """Signals far weaker than the strongest one are erased too.

    A cutoff of 1e-2 (relative, or the reference's absolute svd_tol=0.01)
    would skip the rare group and the weak attribute here.
    """
    n = 40_000
    rare = np.zeros(n, dtype=int)
    rare[rng.choice(n, size=4, replace=False)] = 1  # p = 1e-4
    weak = np.arange(n) % 2
    strong = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, 5))
    X[rare == 1, 0] += 3.0
    X[:, 1] += 1e-3 * weak
    X[:, 2] += 10.0 * strong
    concept = np.column_stack([rare, weak, strong])
    Z = concept.astype(float)
    assert leakage(X, X, Z) > 1e-3
    est = LeaceTransformer().fit(X, concept=concept)
    assert est.rank_ == 3
    assert leakage(X, est.transform(X), Z) < 1e-10
    coarse = LeaceTransformer(tol=1e-2).fit(X, concept=concept)
    assert coarse.rank_ < 3
    assert leakage(X, coarse.transform(X), Z) > 1e-4


@pytest.mark.parametrize("method", ["leace", "orth"])
def test_collinear_constant_and_wide(rng, method):
    n, d = 30, 50  # d > n
    X, z = make_concept_data(rng, n=n, d=d, k=3)
    X[:, 3] = 7.0  # constant
    X[:, 4] = 2 * X[:, 5] - X[:, 6]  # collinear
    est = LeaceTransformer(method=method).fit(X, concept=z)
    X_new = est.transform(X)
    assert leakage(X, X_new, one_hot(z)) < 1e-9
    np.testing.assert_array_equal(X_new[:, 3], X[:, 3])


def test_float32_large_offset_keeps_guarantee(rng):
    X, z = make_concept_data(rng, n=20_000, d=8, k=2, offset=1e4)
    X32 = X.astype(np.float32)
    est = LeaceTransformer().fit(X32, concept=z)
    X_new = est.transform(X32)
    assert X_new.dtype == np.float32
    assert est.mean_.dtype == np.float64 and est.proj_left_.dtype == np.float64
    ratio = (
        np.abs(weighted_cov(X_new, one_hot(z))).max()
        / np.abs(weighted_cov(X32, one_hot(z))).max()
    )
    assert ratio < 1e-5


def test_mixed_feature_scales(rng):
    X, z = make_concept_data(rng, n=500, d=6, k=3)
    X *= np.logspace(-8, 8, 6)
    est = LeaceTransformer().fit(X, concept=z)
    assert leakage(X, est.transform(X), one_hot(z)) < 1e-10


def test_linear_map_keeps_float32_precision_far_from_the_origin():
    # affine=False computes X @ right.T as (X - mean_) @ right.T plus its
    # constant part, so an offset costs no more precision than with the
    # affine map (uncentred, float32 rounding at |X| ~ 1e3 was 2.7x worse).
    rng = np.random.default_rng(5)
    z = rng.integers(0, 3, 20_000)
    X = rng.normal(size=(20_000, 8)) + one_hot(z) @ rng.normal(size=(3, 8))
    X = (X + 1e3).astype(np.float32)
    measured = {}
    for affine in (True, False):
        out = LeaceTransformer(affine=affine).fit(X, concept=z).transform(X)
        assert out.dtype == np.float32
        measured[affine] = leakage(X, out, one_hot(z))
    assert measured[True] < 1e-6
    assert measured[False] < 2 * measured[True]


@pytest.mark.parametrize("params", PARAMS, ids=_ids)
def test_float32_erases_like_float64(rng, params):
    """float32 input gets the float64 eraser, up to float32's resolution.

    The guarantee holds for any invertible whitening, so it cannot show an
    eraser that moves the data more than it must. A diagonal loading of
    float32 statistics taken relative to the uncentred moment of
    affine=False (the mean, 1e3 here, instead of the spread) moved the data
    74 % more than the float64 eraser.
    """
    X, z = make_concept_data(rng, n=5000, d=6, k=3, offset=1e3)
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)
    moves = []
    for data in (X32, X64):
        out = LeaceTransformer(**params).fit(data, concept=z).transform(data)
        moves.append(np.linalg.norm(out - X64))
    np.testing.assert_allclose(moves[0], moves[1], rtol=1e-4)
