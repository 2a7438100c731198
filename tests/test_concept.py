"""How the concept is encoded: the dtype rule, classes_, and bad concepts."""

import numpy as np
import pytest
from _helpers import leakage, one_hot

from leace_sklearn import LeaceTransformer


def _data(rng, n=120):
    return rng.normal(size=(n, 4))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, 2] * 40),
        np.array(["m", "f", "x"] * 40),
        np.array(["m", "f", "x"] * 40, dtype=object),
        np.array([True, False, True] * 40),
        [0, 1, 2] * 40,
    ],
    ids=["int", "str", "object", "bool", "list"],
)
def test_categorical_dtypes_are_one_hot(rng, labels):
    X = _data(rng)
    X[:, 0] += 2 * (np.asarray(labels) == np.asarray(labels)[0])
    X[:, 1] += 3 * (np.asarray(labels) == np.asarray(labels)[1])
    est = LeaceTransformer().fit(X, concept=labels)
    np.testing.assert_array_equal(est.classes_, np.unique(labels))
    assert est.rank_ == len(np.unique(labels)) - 1
    assert leakage(X, est.transform(X), one_hot(labels)) < 1e-10


def test_integer_multiclass_is_not_under_erased(rng):
    """A label 0/1/2 used as one number would leave a direction behind."""
    X = _data(rng, 300)
    z = np.arange(300) % 3
    X[:, 0] += (z == 1) * 2.0  # class 1 differs, not linearly in the code
    est = LeaceTransformer().fit(X, concept=z)
    assert leakage(X, est.transform(X), one_hot(z)) < 1e-10
    with pytest.warns(UserWarning, match="3 distinct integer values"):
        as_number = LeaceTransformer().fit(X, concept=z.astype(float))
    assert as_number.classes_ is None and as_number.rank_ == 1
    assert leakage(X, as_number.transform(X), one_hot(z)) > 1e-3


def test_pandas_categorical_and_nullable(rng):
    pd = pytest.importorskip("pandas")
    X = _data(rng)
    cat = pd.Series(pd.Categorical(["a", "b", "c"] * 40))
    est = LeaceTransformer().fit(X, concept=cat)
    np.testing.assert_array_equal(est.classes_, ["a", "b", "c"])
    nullable = pd.Series([1, 2, 3] * 40, dtype="Int64")
    assert LeaceTransformer().fit(X, concept=nullable).rank_ == 2
    with pytest.raises(ValueError, match="NaN, infinity or None"):
        LeaceTransformer().fit(X, concept=pd.Series([1, None, 3] * 40, dtype="Int64"))
    with pytest.raises(ValueError, match="NaN, infinity or None"):
        LeaceTransformer().fit(X, concept=cat.cat.set_categories(["a", "b"]))


@pytest.mark.parametrize(
    "bad",
    [
        np.array([0.0, np.nan, 1.0] * 40),
        np.array([0.0, np.inf, 1.0] * 40),
        np.array(["a", None, "b"] * 40, dtype=object),
        np.array([1.0, float("nan"), "b"] * 40, dtype=object),
    ],
)
def test_missing_concept_values_raise(rng, bad):
    with pytest.raises(ValueError, match="concept column 0 contains NaN"):
        LeaceTransformer().fit(_data(rng), concept=bad)


def test_length_mismatch_and_bad_shapes(rng):
    X = _data(rng)
    with pytest.raises(ValueError, match="concept has 119 rows but X has 120"):
        LeaceTransformer().fit(X, concept=np.zeros(119, dtype=int))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        LeaceTransformer().fit(X, concept=np.zeros((120, 2, 2)))
    with pytest.raises(TypeError, match="complex"):
        LeaceTransformer().fit(X, concept=np.ones(120, dtype=complex))
    with pytest.raises(TypeError, match="mutually comparable"):
        LeaceTransformer().fit(X, concept=np.array(["a", 1] * 60, dtype=object))


@pytest.mark.parametrize(
    "concept", [np.zeros(120, dtype=int), np.full(120, 3.5)], ids=["one", "const"]
)
def test_nothing_to_erase_warns_and_is_identity(rng, concept):
    X = _data(rng)
    with pytest.warns(UserWarning, match="nothing to erase"):
        est = LeaceTransformer().fit(X, concept=concept)
    assert est.rank_ == 0
    assert est.proj_left_.shape == (4, 0) and est.proj_right_.shape == (0, 4)
    np.testing.assert_array_equal(est.transform(X), X)


def test_column_vector_concept_gives_list_of_classes(rng):
    X = _data(rng)
    z = (np.arange(120) % 2)[:, None]
    est = LeaceTransformer().fit(X, concept=z)
    assert isinstance(est.classes_, list) and len(est.classes_) == 1
    np.testing.assert_array_equal(est.classes_[0], [0, 1])


def test_y_is_the_fallback_concept(rng):
    X = _data(rng)
    y = np.arange(120) % 2
    z = (np.arange(120) // 2) % 3
    from_y = LeaceTransformer().fit(X, y)
    assert from_y.concept_source_ == "y"
    from_concept = LeaceTransformer().fit(X, y, concept=z)
    assert from_concept.concept_source_ == "concept"
    assert len(from_concept.classes_) == 3
    with pytest.raises(ValueError, match="requires y to be passed"):
        LeaceTransformer().fit(X)


@pytest.mark.parametrize(
    "values, warns",
    [
        (np.arange(90) % 3 * 1.0, True),  # float class codes
        (np.arange(90) % 2 * 1.0, False),  # binary: same span either way
        (np.arange(90) * 1.0, False),  # a count with many values
        (np.arange(90) % 3 + 0.5, False),  # not integers
    ],
)
def test_label_like_float_concept_warns(rng, values, warns):
    import warnings

    X = _data(rng, 90)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LeaceTransformer().fit(X, concept=values)
    messages = [str(w.message) for w in caught if "integer values" in str(w.message)]
    assert bool(messages) == warns
