"""Property-based tests of the guarantee (hypothesis draws shapes and data)."""

import numpy as np
from _helpers import leakage, one_hot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leace_sklearn import LeaceTransformer

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def problems(draw):
    n = draw(st.integers(4, 80))
    d = draw(st.integers(1, 12))
    k = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    z = rng.integers(0, k, size=n)
    z[:k] = np.arange(k) if n >= k else z[:k]
    scale = 10.0 ** rng.uniform(-3, 3, size=d)
    X = rng.normal(size=(n, d)) * scale
    X += one_hot(z) @ rng.normal(size=(one_hot(z).shape[1], d)) * scale
    # An offset of up to 100 standard deviations: float32 still resolves the
    # spread to about 1e-5, which bounds what any float32 output can show.
    X += rng.normal(size=d) * 30 * scale
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    X = X.astype(dtype)
    if d > 2 and draw(st.booleans()):
        # Exactly collinear in every dtype (a power of two scales exactly);
        # collinear only up to rounding would make the whitening depend on
        # rounding, and fit and partial_fit agree only to that precision.
        X[:, 0] = X[:, 1] * 2.0
    weights = rng.uniform(0.1, 5.0, size=n) if draw(st.booleans()) else None
    params = dict(
        method=draw(st.sampled_from(["leace", "orth"])),
        affine=draw(st.booleans()),
        shrinkage=draw(st.sampled_from([None, "auto", 0.1])),
    )
    return X, z, weights, params


@SETTINGS
@given(problems())
def test_guarantee_holds(problem):
    X, z, w, params = problem
    Z = one_hot(z)
    with _no_warning_check():
        est = LeaceTransformer(**params).fit(X, concept=z, sample_weight=w)
    X_new = est.transform(X)
    assert X_new.dtype == X.dtype and X_new.shape == X.shape
    assert est.rank_ <= min(Z.shape[1] - 1, X.shape[1])
    bound = 1e-9 if X.dtype == np.float64 else 1e-4
    assert leakage(X, X_new, Z, w) < bound
    # Idempotent.
    again = est.transform(X_new)
    # Rounding errors are relative to the input's magnitude, not the output's.
    scale = np.abs(X).max()
    assert (
        np.abs(again - X_new).max() <= (1e-9 if X.dtype == np.float64 else 1e-4) * scale
    )


@SETTINGS
@given(problems(), st.integers(1, 7))
def test_partial_fit_equals_fit(problem, n_chunks):
    X, z, w, params = problem
    X = X.astype(np.float64)
    full = LeaceTransformer(**params).fit(X, concept=z, sample_weight=w)
    parts = LeaceTransformer(**params)
    with _no_warning_check():
        for idx in np.array_split(np.arange(len(X)), n_chunks):
            if len(idx):
                parts.partial_fit(
                    X[idx], concept=z[idx], sample_weight=None if w is None else w[idx]
                )
    scale = np.abs(X).max()
    np.testing.assert_allclose(parts.transform(X), full.transform(X), atol=1e-8 * scale)


class _no_warning_check:
    """Single-class batches may warn; these tests are about the numbers."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", UserWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
