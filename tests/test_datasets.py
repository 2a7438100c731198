import sys

import numpy as np
import pytest
from sklearn.utils import Bunch

from leace_sklearn.datasets import load_adult

N_ROWS = {"train": 32561, "test": 16281, "all": 48842}
TARGETS = {"<=50K", ">50K"}


@pytest.mark.parametrize("subset", sorted(N_ROWS))
def test_shapes(subset):
    adult = load_adult(subset=subset)
    assert isinstance(adult, Bunch)
    assert adult.data.shape == (N_ROWS[subset], 14)
    assert adult.data.dtype == object
    assert adult.target.shape == (N_ROWS[subset],)
    assert adult.frame is None
    assert len(adult.feature_names) == 14
    assert "income" not in adult.feature_names
    assert adult.target_names == ["<=50K", ">50K"]
    assert sorted(adult.numeric_features + adult.categorical_features) == sorted(
        adult.feature_names
    )
    assert {"sex", "race"} <= set(adult.categorical_features)
    assert "sex" in adult.DESCR and "CC BY 4.0" in adult.DESCR


def test_all_is_train_then_test():
    train, test, both = (load_adult(subset=s) for s in ("train", "test", "all"))
    np.testing.assert_array_equal(both.target, np.r_[train.target, test.target])
    # Object arrays with None compare fine element-wise; numeric cells have
    # no NaN (checked below), so == is exact here.
    assert (both.data == np.vstack([train.data, test.data])).all()


@pytest.mark.parametrize("subset", ["train", "test"])
def test_values_are_clean(subset):
    adult = load_adult(subset=subset)
    cells = [v for v in adult.data.ravel() if isinstance(v, str)]
    assert cells, "expected some categorical strings"
    assert all(v != "?" and v == v.strip() for v in cells)
    # Missing categorical values become None, and only in these columns.
    missing = {
        name
        for name, column in zip(adult.feature_names, adult.data.T, strict=True)
        if any(v is None for v in column)
    }
    assert missing == {"workclass", "occupation", "native-country"}
    # Test labels carry a trailing "." in the raw file; it must be stripped.
    assert set(adult.target) == TARGETS
    assert all(isinstance(t, str) and not t.endswith(".") for t in adult.target)


def test_column_types():
    adult = load_adult(subset="all")
    for j, name in enumerate(adult.feature_names):
        column = adult.data[:, j]
        if name in adult.numeric_features:
            assert all(type(v) is float for v in column), name
            assert np.isfinite(column.astype(np.float64)).all(), name
        else:
            assert all(v is None or type(v) is str for v in column), name
    sex = adult.data[:, adult.feature_names.index("sex")]
    assert set(sex) == {"Female", "Male"}


def test_return_X_y():
    X, y = load_adult(subset="test", return_X_y=True)
    adult = load_adult(subset="test")
    assert (X == adult.data).all()
    np.testing.assert_array_equal(y, adult.target)


def test_returned_arrays_do_not_share_the_cache():
    X, y = load_adult(return_X_y=True)
    original = (X[0, 0], X[0, 1], y[0])
    X[0, 0], X[0, 1], y[0] = -1.0, "mutated", "mutated"
    X2, y2 = load_adult(return_X_y=True)
    assert (X2[0, 0], X2[0, 1], y2[0]) == original
    X_all, _ = load_adult(subset="all", return_X_y=True)
    assert X_all[0, 1] == original[1]


@pytest.mark.parametrize("subset", ["validation", "Train", None])
def test_bad_subset(subset):
    with pytest.raises(ValueError, match="subset.*'all'.*'test'.*'train'"):
        load_adult(subset=subset)


@pytest.mark.parametrize("param", ["as_frame", "return_X_y"])
def test_non_bool_flags(param):
    with pytest.raises(TypeError, match=param):
        load_adult(**{param: "yes"})


def test_as_frame():
    pd = pytest.importorskip("pandas")
    adult = load_adult(subset="all", as_frame=True)
    assert isinstance(adult.data, pd.DataFrame)
    assert adult.data.shape == (48842, 14)
    assert list(adult.data.columns) == adult.feature_names
    assert adult.frame.shape == (48842, 15)
    assert list(adult.frame.columns) == adult.feature_names + ["income"]
    for name in adult.numeric_features:
        assert adult.data[name].dtype == np.float64, name
    for name in adult.categorical_features:
        assert isinstance(adult.data[name].dtype, pd.CategoricalDtype), name
        assert "?" not in adult.data[name].cat.categories, name
    assert adult.data["workclass"].isna().any()
    assert isinstance(adult.target, pd.Series)
    assert adult.target.name == "income"
    assert set(adult.target) == TARGETS


def test_as_frame_categories_match_across_subsets():
    pytest.importorskip("pandas")
    train = load_adult(subset="train", as_frame=True).data
    test = load_adult(subset="test", as_frame=True).data
    for name in train.select_dtypes("category"):
        assert train[name].dtype == test[name].dtype, name


def test_as_frame_return_X_y():
    pd = pytest.importorskip("pandas")
    X, y = load_adult(subset="test", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and X.shape == (16281, 14)
    assert isinstance(y, pd.Series) and y.name == "income"


def test_works_without_pandas(monkeypatch):
    # A None entry makes ``import pandas`` raise ImportError.
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert load_adult(subset="test").data.shape == (16281, 14)
    with pytest.raises(ImportError, match=r"pip install 'leace-sklearn\[pandas\]'"):
        load_adult(as_frame=True)
