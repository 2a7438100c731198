"""partial_fit over any chunking equals fit on all the data."""

import numpy as np
import pytest
from _helpers import leakage, make_concept_data, one_hot

from leace_sklearn import LeaceTransformer


def _fit_in_chunks(est, X, z, size, w=None):
    for start in range(0, X.shape[0], size):
        sl = slice(start, start + size)
        est.partial_fit(
            X[sl], concept=z[sl], sample_weight=None if w is None else w[sl]
        )
    return est


def _assert_same_eraser(a, b, X, atol=1e-10):
    assert a.n_samples_seen_ == b.n_samples_seen_
    assert a.rank_ == b.rank_
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        a.proj_left_ @ a.proj_right_, b.proj_left_ @ b.proj_right_, atol=atol
    )
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=atol)


# A first batch of one row has a single class: the warning is expected.
@pytest.mark.filterwarnings("ignore:The concept has a single class")
@pytest.mark.parametrize("chunk", [1, 2, 50, 300, 342])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("method", ["leace", "orth"])
def test_partial_fit_equals_fit(rng, chunk, weighted, method):
    n = 300
    X, z = make_concept_data(rng, n=n, d=6, k=3, offset=100.0)
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None
    full = LeaceTransformer(method=method).fit(X, concept=z, sample_weight=w)
    parts = _fit_in_chunks(LeaceTransformer(method=method), X, z, chunk, w)
    _assert_same_eraser(full, parts, X)


@pytest.mark.filterwarnings("ignore:The concept has a single class")
@pytest.mark.filterwarnings("ignore:The batches so far have a total sample_weight")
@pytest.mark.parametrize("chunk", [1, 2, 50])
@pytest.mark.parametrize("method", ["leace", "orth"])
def test_batches_of_weight_zero_change_nothing(rng, chunk, method):
    # Integer weights with zeros: small chunks are often all zero, the first
    # ones among them.
    n = 300
    X, z = make_concept_data(rng, n=n, d=6, k=3, offset=100.0)
    w = rng.integers(0, 3, size=n).astype(float)
    w[:7] = 0.0
    full = LeaceTransformer(method=method).fit(X, concept=z, sample_weight=w)
    parts = _fit_in_chunks(LeaceTransformer(method=method), X, z, chunk, w)
    _assert_same_eraser(full, parts, X)


def test_no_weight_yet_is_the_identity(rng):
    X, z = make_concept_data(rng, n=40, d=3, k=2)
    est = LeaceTransformer()
    with pytest.warns(UserWarning, match="total sample_weight of zero"):
        est.partial_fit(X, concept=z, sample_weight=np.zeros(40))
    assert est.rank_ == 0
    np.testing.assert_array_equal(est.transform(X), X)
    # The rows of weight 0 count for nothing once weighted rows arrive.
    est.partial_fit(X, concept=z)
    fresh = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(est.transform(X), fresh.transform(X), atol=1e-12)
    # The whole data still need some weight.
    with pytest.raises(ValueError, match="at least one non-zero"):
        LeaceTransformer().fit(X, concept=z, sample_weight=np.zeros(40))


@pytest.mark.filterwarnings("ignore:The concept has a single class")
@pytest.mark.parametrize("method", ["leace", "orth"])
def test_class_first_seen_in_later_batch(rng, method):
    X, z = make_concept_data(rng, n=400, d=5, k=4)
    order = np.argsort(z, kind="stable")  # classes arrive one after another
    X, z = X[order], z[order]
    labels = np.array(["a", "b", "c", "d"])[z]
    parts = _fit_in_chunks(LeaceTransformer(method=method), X, labels, 70)
    full = LeaceTransformer(method=method).fit(X, concept=labels)
    np.testing.assert_array_equal(parts.classes_, ["a", "b", "c", "d"])
    _assert_same_eraser(full, parts, X)
    assert leakage(X, parts.transform(X), one_hot(z)) < 1e-10


def test_new_class_in_one_of_several_columns(rng):
    X, z = make_concept_data(rng, n=200, d=5, k=3)
    sex = (rng.random(200) < 0.5).astype(int)
    z_late = np.where(np.arange(200) < 100, np.minimum(z, 1), z)  # class 2 late
    concept = np.column_stack([z_late, sex])
    parts = _fit_in_chunks(LeaceTransformer(), X, concept, 100)
    full = LeaceTransformer().fit(X, concept=concept)
    _assert_same_eraser(full, parts, X)
    assert [len(c) for c in parts.classes_] == [3, 2]


def test_float32_chunks_match_float64_fit(rng):
    X, z = make_concept_data(rng, n=3000, d=6, k=2, offset=50.0)
    X32 = X.astype(np.float32)
    parts = _fit_in_chunks(LeaceTransformer(), X32, z, 700)
    full = LeaceTransformer().fit(X32.astype(np.float64), concept=z)
    np.testing.assert_allclose(parts.mean_, full.mean_, rtol=1e-6)
    np.testing.assert_allclose(
        parts.proj_left_ @ parts.proj_right_,
        full.proj_left_ @ full.proj_right_,
        atol=1e-4,
    )


def test_fit_resets_state(rng):
    X, z = make_concept_data(rng, n=100, d=4, k=2)
    est = LeaceTransformer().partial_fit(X, concept=z).partial_fit(X, concept=z)
    assert est.n_samples_seen_ == 200
    est.fit(X, concept=z)
    assert est.n_samples_seen_ == 100


def test_partial_fit_rejects_inconsistent_batches(rng):
    X, z = make_concept_data(rng, n=100, d=4, k=2)
    est = LeaceTransformer().partial_fit(X, concept=z)
    with pytest.raises(ValueError, match="X has 3 features"):
        est.partial_fit(X[:, :3], concept=z)
    with pytest.raises(ValueError, match="numeric in this batch"):
        est.partial_fit(X, concept=z.astype(float))
    with pytest.raises(ValueError, match="earlier batches had 1"):
        est.partial_fit(X, concept=np.column_stack([z, z]))
    with pytest.raises(ValueError, match="came from 'concept'"):
        est.partial_fit(X, z)
    # Text after integers: NumPy would merge 1 and "1" into one class, while
    # fit refuses the mixture as not comparable.
    with pytest.raises(TypeError, match="text categories but earlier .* number"):
        est.partial_fit(X, concept=z.astype(str))
    with pytest.raises(TypeError, match="number categories but earlier .* text"):
        LeaceTransformer().partial_fit(
            X, concept=z.astype(str).astype(object)
        ).partial_fit(X, concept=z)
    # A failed call leaves the fitted state as it was.
    assert est.n_samples_seen_ == 100
    assert est.classes_.dtype.kind == "i"
    # Dates as datetime64, then as objects, are still the same dates.
    days = np.array(["2020-01-01", "2020-01-02"] * 50, dtype="datetime64[D]")
    dates = LeaceTransformer().partial_fit(X, concept=days)
    assert len(dates.partial_fit(X, concept=days.astype(object)).classes_) == 2


def test_failed_batch_leaves_estimator_unchanged(rng):
    X, z = make_concept_data(rng, n=100, d=4, k=2)
    est = LeaceTransformer().partial_fit(X, concept=z)
    before = est.transform(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad, concept=z)
    assert est.n_samples_seen_ == 100
    np.testing.assert_array_equal(est.transform(X), before)


def test_orth_statistics_cannot_continue_as_leace(rng):
    """method="orth" keeps only the co-moments with the concept, which
    cannot give LEACE; the other way round, full statistics serve both."""
    X, z = make_concept_data(rng, n=200, d=5, k=3, offset=10.0)
    est = LeaceTransformer(method="orth").partial_fit(X[:100], concept=z[:100])
    before = est.transform(X)
    est.set_params(method="leace")
    with pytest.raises(ValueError, match="method='orth'.*call fit"):
        est.partial_fit(X[100:], concept=z[100:])
    assert est.n_samples_seen_ == 100
    np.testing.assert_array_equal(est.transform(X), before)
    # fit starts afresh with the method's own statistics.
    leace = LeaceTransformer().fit(X, concept=z)
    _assert_same_eraser(est.fit(X, concept=z), leace, X)

    switched = LeaceTransformer().partial_fit(X[:100], concept=z[:100])
    switched.set_params(method="orth").partial_fit(X[100:], concept=z[100:])
    orth = LeaceTransformer(method="orth").fit(X, concept=z)
    _assert_same_eraser(switched, orth, X)
