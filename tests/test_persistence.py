"""Saving and loading fitted erasers: pickle, joblib, skops; versions; threads."""

import io
import pickle
import threading
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from _helpers import make_concept_data

import leace_sklearn
from leace_sklearn import InconsistentVersionWarning, LeaceTransformer


@pytest.fixture
def fitted(rng):
    X, z = make_concept_data(rng, n=300, d=6, k=3)
    return LeaceTransformer().fit(X, concept=z), X, z


def test_pickle_and_joblib_round_trips(fitted):
    est, X, _ = fitted
    expected = est.transform(X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.transform(X), expected)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).transform(X), expected)


def test_loaded_estimator_keeps_learning_exactly(fitted, rng):
    est, X, z = fitted
    more, z_more = make_concept_data(rng, n=100, d=6, k=3)
    loaded = pickle.loads(pickle.dumps(est)).partial_fit(more, concept=z_more)
    direct = LeaceTransformer().fit(np.vstack([X, more]), concept=np.r_[z, z_more])
    np.testing.assert_allclose(loaded.proj_left_, direct.proj_left_, atol=1e-12)


def test_other_version_warns_on_load(fitted):
    est, X, _ = fitted
    state = est.__getstate__()
    assert state["_leace_sklearn_version"] == leace_sklearn.__version__
    state["_leace_sklearn_version"] = "0.0.1"
    clone = LeaceTransformer.__new__(LeaceTransformer)
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        clone.__setstate__(state)
    np.testing.assert_array_equal(clone.transform(X), est.transform(X))
    # The same version loads silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(est))


def test_skops_round_trip_trusts_only_our_classes(fitted, tmp_path):
    est, X, _ = fitted
    path = tmp_path / "eraser.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted and all(t.startswith("leace_sklearn.") for t in untrusted)
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


def test_transform_from_eight_threads(rng):
    X, z = make_concept_data(rng, n=20_000, d=32, k=4)
    est = LeaceTransformer().fit(X, concept=z)
    parts = np.array_split(X, 8)
    expected = [est.transform(p) for p in parts]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        for _ in range(5):
            results[i] = est.transform(parts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def _fitted_state(est):
    names = ("mean_", "proj_left_", "proj_right_", "rank_", "n_samples_seen_")
    return {name: np.copy(getattr(est, name)) for name in names}


@pytest.mark.parametrize("where", ["statistics", "factors", "nan"])
def test_failed_partial_fit_leaves_state_unchanged(fitted, rng, monkeypatch, where):
    est, X, z = fitted
    before = _fitted_state(est)
    expected = est.transform(X)
    batch, z_batch = make_concept_data(rng, n=50, d=6, k=3)
    if where == "nan":
        batch[7, 2] = np.nan
    else:
        target = "batch_moments" if where == "statistics" else "erasure_factors"

        def boom(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(f"leace_sklearn._transformer.{target}", boom)
    with pytest.raises((KeyboardInterrupt, ValueError)):
        est.partial_fit(batch, concept=z_batch)
    monkeypatch.undo()
    after = _fitted_state(est)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value)
    np.testing.assert_array_equal(est.transform(X), expected)
    # Still usable, and equal to never having seen the failed batch.
    good, z_good = make_concept_data(rng, n=50, d=6, k=3)
    est.partial_fit(good, concept=z_good)
    direct = LeaceTransformer().fit(np.vstack([X, good]), concept=np.r_[z, z_good])
    np.testing.assert_allclose(est.proj_left_, direct.proj_left_, atol=1e-12)
