"""Bad input gets a clear error naming what was wrong, and inputs stay intact."""

import numpy as np
import pandas as pd
import pytest
from _helpers import leakage, make_concept_data, one_hot
from sklearn.exceptions import NotFittedError

from leace_sklearn import LeaceTransformer

try:  # torch is optional: its cases skip without it
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

RNG = np.random.default_rng(7)
X0, Z0 = make_concept_data(RNG, n=40, d=3, k=2)


def _fit(X=None, z="default", **kwargs):
    est = LeaceTransformer(**kwargs.pop("params", {}))
    X = X0 if X is None else X
    z = Z0 if isinstance(z, str) and z == "default" else z
    return est.fit(X, concept=z, **kwargs)


def _nan_x():
    X = X0.copy()
    X[3, 1] = np.nan
    return X


def _inf_x():
    X = X0.copy()
    X[0, 0] = np.inf
    return X


CASES = {
    "empty X": (
        lambda: _fit(np.empty((0, 3)), np.empty(0)),
        ValueError,
        "0 sample.*at least one row",
    ),
    "no features": (
        lambda: _fit(np.empty((40, 0))),
        ValueError,
        "0 feature.*at least one row and one feature",
    ),
    "NaN in X": (lambda: _fit(_nan_x()), ValueError, "NaN.*SimpleImputer"),
    "inf in X": (lambda: _fit(_inf_x()), ValueError, "infinity.*clip"),
    "weights of the wrong length": (
        lambda: _fit(sample_weight=np.ones(39)),
        ValueError,
        "expected \\(40,\\).*1-D array of n_samples",
    ),
    "infinite weight": (
        lambda: _fit(sample_weight=np.r_[np.inf, np.ones(39)]),
        ValueError,
        "sample_weight.*infinity",
    ),
    "overflowing weights": (
        lambda: _fit(sample_weight=np.full(40, 1e308)),
        ValueError,
        "overflowed float64.*weights",
    ),
    "objects in X": (
        lambda: _fit(np.full((40, 3), {}, dtype=object)),
        TypeError,
        "X must hold numbers.*OneHotEncoder",
    ),
    "NaN in concept": (
        lambda: _fit(z=np.r_[np.nan, Z0[1:].astype(float)]),
        ValueError,
        "concept column 0 contains NaN",
    ),
    "None in concept": (
        lambda: _fit(z=np.array([None] + ["a"] * 39, dtype=object)),
        ValueError,
        "contains NaN, infinity or None",
    ),
    "concept length": (lambda: _fit(z=Z0[:-1]), ValueError, "concept has 39 rows"),
    "no concept, no y": (
        lambda: LeaceTransformer().fit(X0),
        ValueError,
        "requires y to be passed",
    ),
    "strings in X": (
        lambda: _fit(np.array([["a", "b", "c"]] * 40, dtype=object)),
        ValueError,
        "X must hold numbers.*could not convert.*OneHotEncoder",
    ),
    "complex X": (
        lambda: _fit(X0 + 1j),
        ValueError,
        "Complex data not supported.*X.real",
    ),
    "3-D X": (lambda: _fit(X0[:, :, None]), ValueError, "dim 3.*Reshape X"),
    "negative weight": (
        lambda: _fit(sample_weight=-np.ones(40)),
        ValueError,
        "[Nn]egative.*non-negative frequencies",
    ),
    "NaN weight": (
        lambda: _fit(sample_weight=np.r_[np.nan, np.ones(39)]),
        ValueError,
        "NaN.*finite",
    ),
    "all-zero weights": (
        lambda: _fit(sample_weight=np.zeros(40)),
        ValueError,
        "non-zero",
    ),
    "alpha > 1": (lambda: _fit(params={"alpha": 1.5}), ValueError, "alpha"),
    "negative tol": (lambda: _fit(params={"tol": -1.0}), ValueError, "tol"),
    "shrinkage > 1": (lambda: _fit(params={"shrinkage": 2.0}), ValueError, "shrinkage"),
    "unknown method": (lambda: _fit(params={"method": "pca"}), ValueError, "method"),
    "unknown device": (lambda: _fit(params={"device": "tpu"}), ValueError, "device"),
    "1-D X with concept_columns": (
        lambda: _fit(X0[:, 0], z=None, params={"concept_columns": [0]}),
        ValueError,
        "Expected a 2D array.*got 1D.*reshape",
    ),
    "1-D X at transform with concept_columns": (
        lambda: _fit(z=None, params={"concept_columns": [0]}).transform(X0[0]),
        ValueError,
        "Expected a 2D array.*got 1D",
    ),
    "tensor 3-D": (lambda: _fit(torch.zeros(40, 3, 2)), ValueError, "2D"),
    "tensor 1-D at transform": (
        lambda: _fit(torch.as_tensor(X0)).transform(torch.as_tensor(X0[0])),
        ValueError,
        "Expected a 2D array.*got 1D",
    ),
    "tensor 3-D at transform": (
        lambda: _fit(torch.as_tensor(X0)).transform(torch.as_tensor(X0[None])),
        ValueError,
        "Expected a 2D array.*got 3D",
    ),
    "tensor NaN": (lambda: _fit(torch.as_tensor(_nan_x())), ValueError, "NaN"),
    "complex tensor": (
        lambda: _fit(torch.zeros(40, 3, dtype=torch.complex64)),
        TypeError,
        "real-valued",
    ),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=needs_torch) if "tensor" in c else c for c in CASES],
)
def test_bad_fit_input(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_wrong_width_in_transform_and_partial_fit():
    est = _fit()
    with pytest.raises(ValueError, match="X has 2 features.*expecting 3"):
        est.transform(X0[:, :2])
    with pytest.raises(ValueError, match="X has 4 features.*expecting 3"):
        est.partial_fit(np.c_[X0, X0[:, :1]], concept=Z0)


def test_one_sample_and_constant_concept_warn_not_fail():
    with pytest.warns(UserWarning, match="nothing to erase"):
        est = _fit(X0[:1], Z0[:1])
    np.testing.assert_array_equal(est.transform(X0), X0)


def test_concept_with_a_class_per_row_erases_every_direction():
    # More classes than features: the concept spans all of X's variation.
    est = _fit(z=np.arange(40))
    assert est.rank_ == 3
    out = est.transform(X0)
    np.testing.assert_allclose(out, np.broadcast_to(X0.mean(0), X0.shape), atol=1e-10)


def test_large_integers_are_exact():
    big = np.iinfo(np.int64).max // 4
    X = (RNG.integers(-1000, 1000, size=(40, 3)) + big).astype(np.int64)
    z = (np.arange(40) % 2).astype(np.int64) + big
    # In float64 a spread of 1000 around 2e18 is a few units of rounding:
    # the features count as constant, so there is nothing to erase.
    with pytest.warns(UserWarning, match="no linear trace"):
        est = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_array_equal(est.classes_, [big, big + 1])
    assert est.transform(X).dtype == np.float64


@pytest.mark.parametrize("method", ["leace", "orth"])
@pytest.mark.parametrize("concept", ["binary", "numeric"])
def test_tol_of_one_erases_nothing_and_says_why(method, concept):
    # One concept column: a single singular value, the largest, cut as well.
    z = Z0 if concept == "binary" else X0[:, 0] + RNG.normal(size=40)
    with pytest.warns(UserWarning, match="tol=1.0 that cuts every direction"):
        est = _fit(z=z, params={"tol": 1.0, "method": method})
    assert est.rank_ == 0
    np.testing.assert_array_equal(est.transform(X0), X0)


def test_large_integer_features_keep_the_guarantee():
    # int64 values spread over most of their range, cast to float64.
    rng = np.random.default_rng(11)
    z = rng.integers(0, 3, size=300)
    X = rng.integers(-(2**61), 2**61, size=(300, 4), dtype=np.int64)
    X[:, 0] += z * 2**60
    out = LeaceTransformer().fit(X, concept=z).transform(X)
    assert out.dtype == np.float64
    assert leakage(X, out, one_hot(z)) < 1e-10


def test_unsigned_and_narrow_integer_concepts():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(60, 3))
    for z in (
        np.array([2**64 - 1, 2**64 - 2, 0] * 20, dtype=np.uint64),
        np.array([-128, 127, 5] * 20, dtype=np.int8),
    ):
        X[:, 0] += np.searchsorted(np.unique(z), z)
        est = LeaceTransformer().fit(X, concept=z)
        np.testing.assert_array_equal(est.classes_, np.unique(z))
        assert est.classes_.dtype == z.dtype
        assert leakage(X, est.transform(X), one_hot(z)) < 1e-10


def test_float16_becomes_float64():
    est = _fit(X0.astype(np.float16))
    out = est.transform(X0.astype(np.float16))
    assert out.dtype == np.float64
    # The guarantee holds for the float16 values as given.
    assert leakage(X0.astype(np.float16), out, one_hot(Z0)) < 1e-10


@pytest.mark.parametrize("first", ["fit", "partial_fit"])
def test_failed_fit_leaves_the_estimator_as_it_was(first):
    fresh = LeaceTransformer()
    with pytest.raises(ValueError, match="NaN"):
        getattr(fresh, first)(_nan_x(), concept=Z0)
    # Not half-fitted: nothing learnt, so transform says it is not fitted.
    assert not any(name.endswith("_") for name in vars(fresh))
    with pytest.raises(NotFittedError):
        fresh.transform(X0)
    fitted = _fit()
    expected = fitted.transform(X0)
    with pytest.raises(ValueError, match="NaN"):
        fitted.fit(_nan_x(), concept=Z0)
    np.testing.assert_array_equal(fitted.transform(X0), expected)


def test_rounding_level_signal_is_not_erased():
    # Two identical halves, one per class: the class means are exactly equal,
    # so what rounding leaves of the cross-covariance is noise. Erasing it
    # would move the data along a random direction.
    rng = np.random.default_rng(13)
    base = rng.normal(size=(20, 2)) * [1.0, 10.0]
    X = np.tile(base, (2, 1))
    z = np.repeat([0, 1], 20)
    for method in ("leace", "orth"):
        with pytest.warns(UserWarning, match="no linear trace.*nothing to erase"):
            est = LeaceTransformer(method=method).fit(X, concept=z)
        assert est.rank_ == 0
        np.testing.assert_array_equal(est.transform(X), X)
        # tol=0 asks for every non-zero direction, rounding included.
        assert LeaceTransformer(method=method, tol=0.0).fit(X, concept=z).rank_ == 1


def test_inputs_are_not_modified():
    X = pd.DataFrame(X0.copy(), columns=["a", "b", "c"])
    z = pd.Series(Z0.copy())
    w = np.ones(40)
    est = LeaceTransformer().fit(X, concept=z, sample_weight=w)
    est.transform(X)
    np.testing.assert_array_equal(X.to_numpy(), X0)
    np.testing.assert_array_equal(z.to_numpy(), Z0)
    np.testing.assert_array_equal(w, np.ones(40))


@needs_torch
def test_tensor_inputs_are_not_modified():
    z = pd.Series(Z0.copy())
    tensor = torch.as_tensor(X0.copy())
    LeaceTransformer().fit(tensor, concept=z).transform(tensor)
    np.testing.assert_array_equal(tensor.numpy(), X0)
    np.testing.assert_array_equal(z.to_numpy(), Z0)
