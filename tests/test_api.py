"""The scikit-learn surface: parameters, concept_columns, names, copies, errors."""

import numpy as np
import pytest
from _helpers import leakage, make_concept_data, one_hot
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from leace_sklearn import LeaceTransformer


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(method="pca"), "method"),
        (dict(alpha=1.5), "alpha"),
        (dict(alpha=-0.1), "alpha"),
        (dict(shrinkage="ledoit"), "shrinkage"),
        (dict(shrinkage=2.0), "shrinkage"),
        (dict(tol=-1.0), "tol"),
        (dict(affine="yes"), "affine"),
        (dict(copy=None), "copy"),
        (dict(concept_columns="sex"), "concept_columns"),
    ],
)
def test_invalid_parameters_name_the_parameter(rng, params, match):
    X, z = make_concept_data(rng, n=50, d=3, k=2)
    with pytest.raises((ValueError, TypeError), match=match):
        LeaceTransformer(**params).fit(X, concept=z)


def test_inputs_are_not_modified(rng):
    X, z = make_concept_data(rng, n=80, d=4, k=3)
    w = rng.uniform(0.1, 1.0, size=80)
    X0, z0, w0 = X.copy(), z.copy(), w.copy()
    est = LeaceTransformer().fit(X, concept=z, sample_weight=w)
    out = est.transform(X)
    assert out is not X
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_copy_false_transforms_in_place(rng, dtype, order):
    X, z = make_concept_data(rng, n=80, d=4, k=3)
    X = np.asarray(X, dtype=dtype, order=order)
    expected = LeaceTransformer().fit(X, concept=z).transform(X)
    est = LeaceTransformer(copy=False).fit(X, concept=z)
    out = est.transform(X)
    assert out is X
    np.testing.assert_allclose(X, expected, rtol=1e-6 if dtype == np.float32 else 0)


@pytest.mark.parametrize(
    "dtype, out",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)],
)
def test_output_dtype(rng, dtype, out):
    X = (rng.normal(size=(60, 3)) * 10).astype(dtype)
    z = np.arange(60) % 2
    assert LeaceTransformer().fit(X, concept=z).transform(X).dtype == out


def test_concept_columns_by_name_and_position(rng):
    pd = pytest.importorskip("pandas")
    X, z = make_concept_data(rng, n=200, d=4, k=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.insert(1, "group", pd.Categorical(np.array(["x", "y", "w"])[z]))
    by_name = LeaceTransformer(concept_columns=["group"]).fit(frame)
    by_pos = LeaceTransformer(concept_columns=[1]).fit(frame)
    direct = LeaceTransformer().fit(X, concept=z)
    assert by_name.concept_source_ == "concept_columns"
    assert by_name.n_features_in_ == 5
    np.testing.assert_array_equal(by_name.feature_names_in_, frame.columns)
    for est in (by_name, by_pos):
        out = est.transform(frame)
        assert out.shape == (200, 4)
        np.testing.assert_allclose(out, direct.transform(X), atol=1e-10)
        np.testing.assert_array_equal(est.get_feature_names_out(), ["a", "b", "c", "d"])
    # The concept column is ignored at transform time: any value will do.
    other = frame.assign(group=pd.Categorical(["x"] * 200))
    np.testing.assert_array_equal(by_name.transform(other), by_name.transform(frame))


def test_concept_columns_on_arrays(rng):
    X, z = make_concept_data(rng, n=150, d=3, k=2)
    full = np.column_stack([X[:, :1], z, X[:, 1:]])
    est = LeaceTransformer(concept_columns=[-3]).fit(full)
    assert leakage(X, est.transform(full), one_hot(z)) < 1e-10
    np.testing.assert_array_equal(est.get_feature_names_out(), ["x0", "x2", "x3"])
    with pytest.raises(ValueError, match="concept_columns holds column names"):
        LeaceTransformer(concept_columns=["x1"]).fit(full)


@pytest.mark.parametrize(
    "cols, error, match",
    [
        (["nope"], ValueError, "not columns of X"),
        (["a", "a"], ValueError, "duplicate"),
        ([0, "a"], TypeError, "all column names"),
        ([7], ValueError, "out of range"),
        ([], ValueError, "empty"),
        (["a", "b"], ValueError, "every column"),
        ([True], TypeError, "all column names"),
    ],
)
def test_bad_concept_columns(cols, error, match):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0, 1] * 10, "b": np.arange(20.0)})
    with pytest.raises(error, match=match):
        LeaceTransformer(concept_columns=cols).fit(frame)


def test_concept_columns_and_concept_conflict(rng):
    X, z = make_concept_data(rng, n=50, d=3, k=2)
    with pytest.raises(ValueError, match="use one of the two"):
        LeaceTransformer(concept_columns=[0]).fit(X, concept=z)


def test_transform_checks_input(rng):
    X, z = make_concept_data(rng, n=50, d=3, k=2)
    est = LeaceTransformer().fit(X, concept=z)
    with pytest.raises(ValueError, match="3 features"):
        est.transform(X[:, :2])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.transform(bad)
    with pytest.raises(ValueError, match="NaN"):
        LeaceTransformer().fit(bad, concept=z)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LeaceTransformer().fit(bad, concept=z)


def test_sample_weight_errors(rng):
    X, z = make_concept_data(rng, n=50, d=3, k=2)
    with pytest.raises(ValueError, match="Negative values .* `sample_weight`"):
        LeaceTransformer().fit(X, concept=z, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="at least one non-zero"):
        LeaceTransformer().fit(X, concept=z, sample_weight=np.zeros(50))
    with pytest.raises(ValueError):
        LeaceTransformer().fit(X, concept=z, sample_weight=np.ones(49))


def test_pipeline_with_routed_concept(rng):
    X, z = make_concept_data(rng, n=300, d=5, k=2)
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    pipe = make_pipeline(LeaceTransformer(), LogisticRegression())
    pipe.fit(X, y, leacetransformer__concept=z)
    assert pipe[0].concept_source_ == "concept"
    erased = pipe[0].transform(X)
    assert leakage(X, erased, one_hot(z)) < 1e-10
    clone(pipe).set_params(leacetransformer__alpha=0.5).fit(
        X, y, leacetransformer__concept=z
    )


def test_set_output_pandas(rng):
    pd = pytest.importorskip("pandas")
    X, z = make_concept_data(rng, n=60, d=3, k=2)
    frame = pd.DataFrame(X, columns=["u", "v", "w"]).assign(z=z)
    est = LeaceTransformer(concept_columns=["z"]).set_output(transform="pandas")
    out = est.fit_transform(frame)
    assert list(out.columns) == ["u", "v", "w"]
    assert isinstance(out, pd.DataFrame)


def test_fitted_attributes_are_float64_numpy(rng):
    X, z = make_concept_data(rng, n=60, d=3, k=3)
    est = LeaceTransformer().fit(X.astype(np.float32), concept=z)
    for name in ("mean_", "proj_left_", "proj_right_"):
        value = getattr(est, name)
        assert type(value) is np.ndarray and value.dtype == np.float64
    assert est.mean_.shape == (3,)
    assert est.proj_left_.shape == (3, est.rank_)
    assert est.proj_right_.shape == (est.rank_, 3)
    out = est.transform(X.astype(np.float32))
    formula = X - ((X - est.mean_) @ est.proj_right_.T) @ est.proj_left_.T
    np.testing.assert_allclose(out, formula, rtol=1e-4, atol=1e-4)


def test_copy_false_never_writes_into_a_dataframe(rng):
    pd = pytest.importorskip("pandas")
    X, z = make_concept_data(rng, n=60, d=3, k=2)
    frame = pd.DataFrame(X.copy())
    est = LeaceTransformer(copy=False).fit(frame, concept=z)
    out = est.transform(frame)
    np.testing.assert_array_equal(frame.to_numpy(), X)
    assert not np.allclose(out, X)


def test_copy_false_with_read_only_array(rng):
    X, z = make_concept_data(rng, n=60, d=3, k=2)
    X.setflags(write=False)
    out = LeaceTransformer(copy=False).fit(X, concept=z).transform(X)
    assert out is not X and not np.allclose(out, X)


@pytest.mark.parametrize(
    "change", [{"affine": False}, {"concept_columns": [2]}], ids=lambda c: next(iter(c))
)
def test_transform_refuses_parameters_changed_after_fit(rng, change):
    X, z = make_concept_data(rng, n=60, d=3, k=2)
    est = LeaceTransformer().fit(X, concept=z).set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} was .* fitted .* fit .* again"):
        est.transform(X)
    if name == "concept_columns":
        # Later batches cannot switch the concept columns either.
        with pytest.raises(ValueError, match="concept_columns was None in the earl"):
            est.partial_fit(X)
    # Refitting with the new value works; alpha needs no refit at all.
    est.fit(X, concept=None if name == "concept_columns" else z)
    est.set_params(alpha=0.5).transform(X)


@pytest.mark.parametrize(
    "call",
    [
        lambda X, z: LeaceTransformer().fit(X, concept=np.zeros(len(z), int)),
        lambda X, z: LeaceTransformer().partial_fit(X, concept=np.zeros(len(z), int)),
        lambda X, z: LeaceTransformer(affine=False).fit(X + 1e9 * X.std(), concept=z),
        lambda X, z: LeaceTransformer().fit(X, concept=(z % 5) * 1.0),
    ],
    ids=["single class", "partial_fit", "far from the origin", "float codes"],
)
def test_warnings_point_at_the_caller(call):
    X = np.random.default_rng(0).normal(size=(60, 3))
    z = np.arange(60) % 5
    with pytest.warns(UserWarning) as record:
        call(X, z)
    assert {w.filename for w in record} == {__file__}


def test_copy_false_with_rows_sharing_memory(rng):
    # A chunked edit in place would edit rows already edited through another
    # chunk (alpha < 1 shows it: the edit is not idempotent then).
    X, z = make_concept_data(rng, n=60, d=3, k=2)
    est = LeaceTransformer(copy=False, alpha=0.5).fit(X, concept=z)
    want = LeaceTransformer(alpha=0.5).fit(X, concept=z).transform(X[:1])
    row = X[:1].copy()
    shared = np.lib.stride_tricks.as_strided(row, (20_000, 3), (0, 8), writeable=True)
    out = est.transform(shared)
    assert out is not shared
    np.testing.assert_array_equal(row, X[:1])
    np.testing.assert_allclose(out, np.repeat(want, 20_000, axis=0), rtol=1e-12)
    # A strided view is not edited in place either, as documented.
    wide = np.repeat(X, 2, axis=1)
    view = wide[:, ::2]
    assert est.transform(view) is not view
    np.testing.assert_array_equal(wide[:, ::2], X)


def test_overflowing_statistics_ask_to_rescale(rng):
    X, z = make_concept_data(rng, n=50, d=3, k=2)
    with pytest.raises(ValueError, match="overflowed float64.*rescale X"):
        LeaceTransformer().fit(X * 1e200, concept=z)
    est = LeaceTransformer().fit(X, concept=z)
    bad = X.copy()
    bad[-1, -1] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.transform(bad)
