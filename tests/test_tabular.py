"""Tabular input: concept columns, pandas and polars, sparse matrices."""

import tracemalloc

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp
from _helpers import leakage, make_concept_data, one_hot
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from leace_sklearn import LeaceTransformer, load_adult

NAMES = ["a", "b", "c", "d"]
GROUPS = np.array(["north", "south", "east"])


@pytest.fixture
def frame(rng):
    X, z = make_concept_data(rng, n=240, d=4, k=3)
    df = pd.DataFrame(X, columns=NAMES)
    df.insert(2, "region", pd.Categorical(GROUPS[z]))
    df["flag"] = (z == 1).astype(bool)
    return df, X, z


# -- concept columns --------------------------------------------------------------


@pytest.mark.parametrize("columns", [["region"], [2]])
def test_concept_column_of_strings_in_numeric_frame(frame, columns):
    df, X, z = frame
    est = LeaceTransformer(concept_columns=columns).fit(df.drop(columns="flag"))
    np.testing.assert_array_equal(est.classes_, np.sort(GROUPS))
    out = est.transform(df.drop(columns="flag"))
    assert out.shape == X.shape
    assert leakage(X, out, one_hot(z)) < 1e-10
    np.testing.assert_array_equal(est.get_feature_names_out(), NAMES)


def test_several_concept_columns(frame):
    df, X, z = frame
    est = LeaceTransformer(concept_columns=["region", "flag"]).fit(df)
    assert isinstance(est.classes_, list) and len(est.classes_) == 2
    np.testing.assert_array_equal(est.classes_[1], [False, True])
    assert leakage(X, est.transform(df), one_hot(z)) < 1e-10


def test_concept_columns_may_be_absent_at_transform(frame):
    df, X, _ = frame
    est = LeaceTransformer(concept_columns=["region", "flag"]).fit(df)
    with_concept = est.transform(df)
    np.testing.assert_array_equal(est.transform(df[NAMES]), with_concept)
    # An array without the concept columns is recognised by its width.
    np.testing.assert_array_equal(est.transform(X), with_concept)
    on_array = LeaceTransformer(concept_columns=[2]).fit(df[NAMES[:2] + ["region"]])
    np.testing.assert_array_equal(
        on_array.transform(X[:, :2]), on_array.transform(df[NAMES[:2] + ["region"]])
    )


def test_concept_columns_absent_errors(frame):
    df, X, _ = frame
    est = LeaceTransformer(concept_columns=["region", "flag"]).fit(df)
    with pytest.raises(ValueError, match=r"some concept columns \['region'\]"):
        est.transform(df.drop(columns="flag"))
    with pytest.raises(ValueError, match="without them, in order"):
        est.transform(df[["b", "a", "c", "d"]])
    with pytest.raises(ValueError, match="expecting 6 features.*or 4"):
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="missing from X; partial_fit needs"):
        est.partial_fit(df[NAMES])


def test_concept_columns_inside_search(frame):
    df, _, z = frame
    y = (df["a"] > df["a"].median()).astype(int)
    pipe = Pipeline(
        [
            ("leace", LeaceTransformer(concept_columns=["region", "flag"])),
            ("clf", LogisticRegression()),
        ]
    )
    search = GridSearchCV(pipe, {"leace__alpha": [0.5, 1.0]}, cv=3).fit(df, y)
    leace = search.best_estimator_.named_steps["leace"]
    assert leace.concept_source_ == "concept_columns"
    # Prediction needs no sensitive attribute.
    assert search.predict(df[NAMES]).shape == (len(df),)


# -- DataFrames in and out ----------------------------------------------------------


def _sklearn_reads_polars_names():
    scaler = StandardScaler().fit(pl.DataFrame({"a": [0.0, 1.0]}))
    return hasattr(scaler, "feature_names_in_")


@pytest.mark.parametrize("output", ["default", "pandas", "polars"])
@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_dataframe_in_and_out(frame, library, output):
    df, X, z = frame
    data = df if library == "pandas" else pl.from_pandas(df)
    est = LeaceTransformer(concept_columns=["region", "flag"])
    est.set_output(transform=output)
    out = est.fit_transform(data)
    reference = LeaceTransformer().fit(X, concept=df[["region", "flag"]]).transform(X)
    if output == "default":
        assert isinstance(out, np.ndarray)
        values = out
    else:
        assert isinstance(out, pd.DataFrame if output == "pandas" else pl.DataFrame)
        # The names come from scikit-learn's validation, which reads polars
        # column names only with polars 1 or scikit-learn 1.8 and later.
        if library == "pandas" or _sklearn_reads_polars_names():
            assert list(out.columns) == NAMES
        values = out.to_numpy()
    np.testing.assert_allclose(values, reference, atol=1e-12)


@pytest.mark.parametrize("kind", ["polars", "pyarrow", "nullable", "numpy"])
@pytest.mark.parametrize("concept_columns", [None, ["g"]])
def test_float32_frames_stay_float32(rng, kind, concept_columns):
    # scikit-learn's validation keeps float32 only for NumPy-backed columns.
    X, z = make_concept_data(rng, n=80, d=3, k=2)
    X32 = X.astype(np.float32)
    df = pd.DataFrame(X32, columns=["a", "b", "c"])
    if kind == "pyarrow":
        df = df.astype("float32[pyarrow]")
    elif kind == "nullable":
        df = df.astype("Float32")
    with_concept = df.assign(g=z.astype(str))
    if kind == "polars":
        df, with_concept = pl.from_pandas(df), pl.from_pandas(with_concept)
    est = LeaceTransformer(concept_columns=concept_columns)
    if concept_columns is None:
        out = est.fit(df, concept=z).transform(df)
    else:
        out = est.fit(with_concept).transform(with_concept)
        assert est.transform(df).dtype == np.float32  # concept columns absent
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out, LeaceTransformer().fit(X32, concept=z).transform(X32), rtol=1e-5
    )
    assert est.set_output(transform="pandas").transform(df).dtypes.iloc[0] == np.float32


def test_concept_columns_where_scikit_learn_cannot_read_names(frame, monkeypatch):
    """Where scikit-learn cannot read a frame's column names (polars 2
    before scikit-learn 1.8), the concept columns are still found by name,
    and the output names, x0, x1, ..., skip their positions."""
    import sklearn.utils.validation

    monkeypatch.setattr(sklearn.utils.validation, "_get_feature_names", lambda X: None)
    df, X, z = frame
    est = LeaceTransformer(concept_columns=["region", "flag"]).fit(df)
    assert not hasattr(est, "feature_names_in_")
    assert list(est.get_feature_names_out()) == ["x0", "x1", "x3", "x4"]
    out = est.set_output(transform="pandas").transform(df)
    assert list(out.columns) == ["x0", "x1", "x3", "x4"]
    assert leakage(X, out.to_numpy(), one_hot(z)) < 1e-10


def test_polars_concept_argument(frame):
    df, X, z = frame
    from_polars = LeaceTransformer().fit(X, concept=pl.Series(GROUPS[z]))
    np.testing.assert_array_equal(from_polars.classes_, np.sort(GROUPS))
    assert leakage(X, from_polars.transform(X), one_hot(z)) < 1e-10
    with pytest.raises(ValueError, match="contains NaN, infinity or None"):
        LeaceTransformer().fit(X[:3], concept=pl.Series(["a", None, "b"]))


# -- sparse input -------------------------------------------------------------------


def _sparse_data(rng, n=500, d=30):
    X, z = make_concept_data(rng, n=n, d=d, k=3)
    X[rng.random(X.shape) < 0.8] = 0.0
    return X, z


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_equals_dense(rng, fmt, dtype):
    X, z = _sparse_data(rng)
    X = X.astype(dtype)
    w = rng.integers(0, 3, size=len(z)).astype(float)
    params = dict(concept=z, sample_weight=w)
    dense = LeaceTransformer().fit(X, **params)
    sparse = LeaceTransformer().fit(sp.csr_matrix(X).asformat(fmt), **params)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for name in ("mean_", "proj_left_", "proj_right_"):
        np.testing.assert_allclose(
            getattr(sparse, name), getattr(dense, name), rtol=tol, atol=tol
        )
    out = sparse.transform(sp.csr_matrix(X).asformat(fmt))
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    np.testing.assert_allclose(out, dense.transform(X), rtol=tol, atol=tol)


def test_sparse_array_and_partial_fit(rng):
    X, z = _sparse_data(rng)
    est = LeaceTransformer()
    for rows in np.array_split(np.arange(len(z)), 3):
        est.partial_fit(sp.csr_array(X[rows]), concept=z[rows])
    dense = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(est.proj_left_, dense.proj_left_, atol=1e-10)
    assert leakage(X, est.transform(sp.csr_array(X)), one_hot(z)) < 1e-10


def test_sparse_concept_column(rng):
    X, z = _sparse_data(rng, d=6)
    full = sp.csr_matrix(np.column_stack([X, z.astype(float) == 1]))
    est = LeaceTransformer(concept_columns=[-1]).fit(full)
    assert est.transform(full).shape == X.shape
    assert leakage(X, est.transform(full), (z == 1)[:, None]) < 1e-10


def test_sparse_non_finite_is_an_error(rng):
    X, z = _sparse_data(rng, d=6)
    X[3, np.flatnonzero(X[3])[0]] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LeaceTransformer().fit(sp.csr_matrix(X), concept=z)


def test_sparse_fit_does_not_densify(rng):
    n, d = 40_000, 200
    X = sp.random(n, d, density=0.01, format="csr", random_state=0, dtype=np.float64)
    z = rng.integers(0, 2, size=n)
    dense_bytes = n * d * 8
    tracemalloc.start()
    try:
        est = LeaceTransformer().fit(X, concept=z)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = est.transform(X)
        _, transform_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Fit holds a few chunks of rows and d x d statistics, not n x d; the
    # transform's only large allocation is its (dense) output.
    assert fit_peak < dense_bytes / 8
    assert transform_peak < out.nbytes + dense_bytes / 8


# -- ColumnTransformer upstream, on real data ---------------------------------------


def test_after_column_transformer_on_adult():
    X, y = load_adult(as_frame=True, return_X_y=True)
    X, y = X.iloc[:3000], y.iloc[:3000]
    sex = X.pop("sex")
    categorical = X.select_dtypes(exclude="number").columns
    numeric = X.select_dtypes(include="number").columns
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("num", StandardScaler(), numeric),
        ],
        sparse_threshold=1.0,  # sparse output, as OneHotEncoder gives by default
    )
    pipe = Pipeline(
        [("prep", prep), ("leace", LeaceTransformer()), ("clf", LogisticRegression())]
    )
    pipe.fit(X, y, leace__concept=sex)
    features = pipe.named_steps["prep"].transform(X)
    assert sp.issparse(features)
    erased = pipe.named_steps["leace"].transform(features)
    assert leakage(features.toarray(), erased, one_hot(sex.to_numpy())) < 1e-10
    result = cross_validate(clone(pipe), X, y, cv=3, params={"leace__concept": sex})
    assert np.all(result["test_score"] > 0.7)


def test_before_a_regressor(rng):
    # The concept is passed as a step parameter; y is a continuous target.
    X, z = make_concept_data(rng, n=300, d=5, k=3)
    y = X @ rng.normal(size=5) + rng.normal(size=300)
    pipe = make_pipeline(LeaceTransformer(), Ridge())
    pipe.fit(X, y, leacetransformer__concept=z)
    eraser = pipe[0]
    assert eraser.concept_source_ == "concept"
    assert leakage(X, eraser.transform(X), one_hot(z)) < 1e-10
    # The regressor's predictions carry no linear trace of the concept.
    assert leakage(y[:, None], pipe.predict(X)[:, None], one_hot(z)) < 1e-10
