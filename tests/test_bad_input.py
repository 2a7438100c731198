"""Bad input gets a clear error naming what was wrong, and inputs stay intact."""

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import make_concept_data

from leace_sklearn import LeaceTransformer

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
    "empty X": (lambda: _fit(np.empty((0, 3)), np.empty(0)), ValueError, "0 sample"),
    "NaN in X": (lambda: _fit(_nan_x()), ValueError, "NaN"),
    "inf in X": (lambda: _fit(_inf_x()), ValueError, "infinity"),
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
        "could not convert|Unable to convert|string",
    ),
    "complex X": (lambda: _fit(X0 + 1j), ValueError, "Complex data not supported"),
    "3-D X": (lambda: _fit(X0[:, :, None]), ValueError, "dim 3|3D|3-D"),
    "negative weight": (
        lambda: _fit(sample_weight=-np.ones(40)),
        ValueError,
        "[Nn]egative",
    ),
    "NaN weight": (
        lambda: _fit(sample_weight=np.r_[np.nan, np.ones(39)]),
        ValueError,
        "NaN",
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
    "tensor 3-D": (lambda: _fit(torch.zeros(40, 3, 2)), ValueError, "2D"),
    "tensor NaN": (lambda: _fit(torch.as_tensor(_nan_x())), ValueError, "NaN"),
    "complex tensor": (
        lambda: _fit(torch.zeros(40, 3, dtype=torch.complex64)),
        TypeError,
        "real-valued",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
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
    est = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_array_equal(est.classes_, [big, big + 1])
    assert est.transform(X).dtype == np.float64


def test_float16_becomes_float64():
    est = _fit(X0.astype(np.float16))
    assert est.transform(X0.astype(np.float16)).dtype == np.float64


def test_inputs_are_not_modified():
    X = pd.DataFrame(X0.copy(), columns=["a", "b", "c"])
    z = pd.Series(Z0.copy())
    w = np.ones(40)
    tensor = torch.as_tensor(X0.copy())
    est = LeaceTransformer().fit(X, concept=z, sample_weight=w)
    est.transform(X)
    LeaceTransformer().fit(tensor, concept=z).transform(tensor)
    np.testing.assert_array_equal(X.to_numpy(), X0)
    np.testing.assert_array_equal(z.to_numpy(), Z0)
    np.testing.assert_array_equal(w, np.ones(40))
    np.testing.assert_array_equal(tensor.numpy(), X0)
