"""leace_sklearn.metrics: the probe, the cross-covariance score and the scorer.

Each measure is checked against its definition (an independent computation,
a constant predictor, a transformation it must ignore), not against numbers
it once produced.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import make_concept_data, one_hot, weighted_cov
from sklearn import config_context
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from leace_sklearn import LeaceTransformer, load_adult
from leace_sklearn.metrics import (
    _cross_covariance,
    chance_level,
    cross_covariance_score,
    linear_probe_score,
    make_leakage_scorer,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # The probes fit small matrices, for which BLAS threads only contend for
    # the few cores of a CI machine (2-3x slower there).
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _reference_score(X, Z, w=None):
    """max |corr| from the dense weighted covariances in tests/_helpers."""
    cov = weighted_cov(X, Z, w)
    sx = np.sqrt(np.diagonal(weighted_cov(X, X, w)))
    sz = np.sqrt(np.diagonal(weighted_cov(Z, Z, w)))
    denom = np.outer(sx, sz)
    ok = denom > 1e-12
    return float(np.max(np.abs(cov[ok]) / denom[ok], initial=0.0))


@pytest.fixture(scope="module")
def adult_encoded():
    """3000 Adult rows, one-hot encoded, without the sex column."""
    bunch = load_adult(as_frame=True)
    data = bunch.frame.sample(n=3000, random_state=0)
    X = data.drop(columns=["sex", "income"])
    numeric = [c for c in bunch.numeric_features if c in X]
    categorical = [c for c in bunch.categorical_features if c in X]
    encode = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ]
    )
    return encode.fit_transform(X), data["sex"].astype(str).to_numpy()


# -- linear_probe_score ---------------------------------------------------------


def test_probe_finds_signal_and_not_noise(rng):
    X, z = make_concept_data(rng, n=600, d=5, k=3)
    assert linear_probe_score(X, z) > chance_level(z) + 0.3
    noise = rng.normal(size=X.shape)
    assert abs(linear_probe_score(noise, z) - chance_level(z)) < 0.07


def test_probe_after_erasure_is_near_chance(rng):
    X, z = make_concept_data(rng, n=1000, d=5, k=2)
    assert linear_probe_score(X, z) > 0.8
    erased = LeaceTransformer().fit_transform(X, z)
    assert abs(linear_probe_score(erased, z) - 0.5) < 0.05


@pytest.mark.parametrize(
    "convert",
    [
        lambda z: z,
        lambda z: np.array(["a", "b", "c"])[z],
        lambda z: np.array(["a", "b", "c"], dtype=object)[z],
        lambda z: z.tolist(),
        lambda z: z[:, None],
    ],
    ids=["int", "str", "object", "list", "column"],
)
def test_probe_categorical_dtypes_agree(rng, convert):
    X, z = make_concept_data(rng, n=150, d=4, k=3)
    assert linear_probe_score(X, convert(z), cv=3) == linear_probe_score(X, z, cv=3)


def test_probe_pandas_categorical(rng):
    pd = pytest.importorskip("pandas")
    X, z = make_concept_data(rng, n=150, d=4, k=3)
    labels = pd.Series(pd.Categorical(np.array(["a", "b", "c"])[z]))
    assert linear_probe_score(X, labels, cv=3) == linear_probe_score(X, z, cv=3)


def test_probe_numeric_concept_uses_r2(rng):
    X = rng.normal(size=(400, 4))
    z = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=400)
    assert linear_probe_score(X, z) > 0.99
    independent = rng.normal(size=400)
    assert abs(linear_probe_score(X, independent)) < 0.05
    with pytest.raises(ValueError, match="scoring='balanced_accuracy' needs a"):
        linear_probe_score(X, z, scoring="balanced_accuracy")
    with pytest.raises(ValueError, match="concept is constant"):
        linear_probe_score(X, np.ones(400))


def test_probe_roc_auc(rng):
    for k in (2, 3):
        X, z = make_concept_data(rng, n=600, d=5, k=k)
        assert linear_probe_score(X, z, scoring="roc_auc") > 0.8
        noise = rng.normal(size=X.shape)
        assert abs(linear_probe_score(noise, z, scoring="roc_auc") - 0.5) < 0.07
    with pytest.raises(ValueError, match="scoring='r2' needs a numeric"):
        linear_probe_score(X, z, scoring="r2")


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_probe_sparse_matches_dense(rng, fmt):
    X, z = make_concept_data(rng, n=400, d=6, k=2)
    X[np.abs(X) < 1.0] = 0.0
    dense = linear_probe_score(X, z)
    assert abs(linear_probe_score(sp.csr_matrix(X).asformat(fmt), z) - dense) < 0.01


def test_probe_ignores_constant_columns(rng):
    X, z = make_concept_data(rng, n=400, d=4, k=2)
    padded = np.column_stack([np.full(400, 3.0), X, np.zeros(400)])
    assert linear_probe_score(padded, z) == pytest.approx(
        linear_probe_score(X, z), abs=1e-6
    )


def test_probe_rare_class_reduces_folds(rng):
    X, z = make_concept_data(rng, n=200, d=4, k=2)
    z[:3] = 2  # a third class with 3 members
    with pytest.warns(UserWarning, match="using 3 folds"):
        score = linear_probe_score(X, z, cv=5)
    assert np.isfinite(score)
    z[:2] = 0  # now one member
    with pytest.raises(ValueError, match="single member"):
        linear_probe_score(X, z)
    with pytest.raises(ValueError, match="single class"):
        linear_probe_score(X, np.zeros(200, dtype=int))


def test_probe_cv_splitter_and_seed(rng):
    X, z = make_concept_data(rng, n=300, d=4, k=2)
    assert linear_probe_score(X, z, random_state=3) == linear_probe_score(
        X, z, random_state=3
    )
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    manual = cross_val_score(
        make_pipeline(
            StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000)
        ),
        X,
        z,
        cv=folds,
        scoring="balanced_accuracy",
    ).mean()
    assert linear_probe_score(X, z, cv=folds) == pytest.approx(manual)


def test_probe_adult_quiet_and_sees_rare_columns(adult_encoded):
    """A standardized probe reads what a rare one-hot column carries.

    LEACE must also edit a column that is 1 on a single row; on every other
    row the edit is a tiny copy of the erased direction, exact in-sample but
    visible to a probe fitted without that row. Dropping the rare columns
    (as docs/fairness.rst recommends) leaves the probe near chance.
    """
    X, sex = adult_encoded
    common = X[:, X.var(axis=0) > 0.02]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        before = linear_probe_score(X, sex)
        erased = LeaceTransformer().fit_transform(X, sex)
        rare_kept = linear_probe_score(erased, sex)
        rare_dropped = linear_probe_score(
            LeaceTransformer().fit_transform(common, sex), sex
        )
    assert before > 0.75
    assert cross_covariance_score(erased, sex) < 1e-10
    assert rare_kept > 0.7
    assert abs(rare_dropped - 0.5) < 0.1


@pytest.mark.parametrize(
    "X, z, match",
    [
        (np.ones(10), np.arange(10) % 2, "X must be 2-D"),
        (np.full((10, 2), np.nan), np.arange(10) % 2, "invalid X"),
        ([["a", "b"]] * 10, np.arange(10) % 2, "invalid X"),
        (np.ones((10, 2)), np.arange(9) % 2, "concept has 9 rows"),
        (np.ones((10, 2)), np.r_[np.nan, np.arange(9.0)], "concept column 0"),
        (np.ones((10, 2)), np.ones((10, 2), dtype=int), "concept must be 1-D"),
    ],
)
def test_probe_validation_names_the_argument(X, z, match):
    with pytest.raises(ValueError, match=match):
        linear_probe_score(X, z)


def test_probe_validation_of_options(rng):
    X, z = make_concept_data(rng, n=100, d=3, k=2)
    with pytest.raises(ValueError, match="scoring must be"):
        linear_probe_score(X, z, scoring="accuracy")
    with pytest.raises(ValueError, match="cv must be at least 2"):
        linear_probe_score(X, z, cv=1)
    with pytest.raises(TypeError, match="cv must be an int"):
        linear_probe_score(X, z, cv="five")


def test_probe_does_not_modify_inputs(rng):
    X, z = make_concept_data(rng, n=200, d=3, k=2)
    X_copy, z_copy = X.copy(), z.copy()
    linear_probe_score(X, z)
    cross_covariance_score(X, z, sample_weight=np.ones(200))
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(z, z_copy)


# -- chance_level ---------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 5])
def test_chance_level_is_the_constant_probe_score(rng, k):
    X, z = make_concept_data(
        rng, n=300, d=3, k=k, p=np.linspace(1, 2, k) / np.sum(np.linspace(1, 2, k))
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for scoring in ("balanced_accuracy", "roc_auc"):
        name = "roc_auc_ovr" if scoring == "roc_auc" and k > 2 else scoring
        constant = cross_val_score(DummyClassifier(), X, z, cv=folds, scoring=name)
        assert chance_level(z, scoring=scoring) == pytest.approx(constant.mean())
    assert chance_level(z) == pytest.approx(1.0 / k)


def test_chance_level_numeric_and_errors():
    assert chance_level(np.array([0.5, 1.5, 2.0])) == 0.0
    assert chance_level([0.5, 1.5, 2.0], scoring="r2") == 0.0
    with pytest.raises(ValueError, match="single class"):
        chance_level(["a", "a"])
    with pytest.raises(ValueError, match="scoring='roc_auc' needs a categorical"):
        chance_level([0.5, 1.5], scoring="roc_auc")
    with pytest.raises(ValueError, match="concept is empty"):
        chance_level([])


# -- cross_covariance_score -----------------------------------------------------


def test_cross_covariance_matches_reference(rng):
    X, z = make_concept_data(rng, n=500, d=6, k=3)
    w = rng.uniform(0.1, 2.0, size=500)
    assert cross_covariance_score(X, z) == pytest.approx(
        _reference_score(X, one_hot(z)), rel=1e-10
    )
    assert cross_covariance_score(X, z, sample_weight=w) == pytest.approx(
        _reference_score(X, one_hot(z), w), rel=1e-10
    )
    pd = pytest.importorskip("pandas")
    numeric = X[:, 0] + rng.normal(size=500)
    both = pd.DataFrame({"group": z, "value": numeric})
    Z = np.column_stack([one_hot(z), numeric])
    assert cross_covariance_score(X[:, 1:], both) == pytest.approx(
        _reference_score(X[:, 1:], Z), rel=1e-10
    )


def test_cross_covariance_over_many_chunks(rng, monkeypatch):
    X, z = make_concept_data(rng, n=300, d=4, k=3)
    X = X + 1e6  # far from zero: the shifted sums must keep the precision
    expected = _reference_score(X, one_hot(z))
    monkeypatch.setattr(_cross_covariance, "chunk_rows", lambda *args: 7)
    assert cross_covariance_score(X, z) == pytest.approx(expected, rel=1e-8)


def test_cross_covariance_zero_after_leace(rng):
    X, z = make_concept_data(rng, n=500, d=6, k=3)
    w = rng.integers(0, 4, size=500).astype(float)
    assert cross_covariance_score(X, z) > 0.3
    erased = LeaceTransformer().fit_transform(X, z)
    assert cross_covariance_score(erased, z) < 1e-10
    weighted = LeaceTransformer().fit(X, concept=z, sample_weight=w).transform(X)
    assert cross_covariance_score(weighted, z, sample_weight=w) < 1e-10
    assert cross_covariance_score(weighted, z) > 1e-6  # other weights: not exact


def test_cross_covariance_invariances(rng):
    X, z = make_concept_data(rng, n=400, d=4, k=2)
    score = cross_covariance_score(X, z)
    affine = X * np.array([1e-3, -2.0, 5e3, 1.0]) + np.array([7.0, -1e4, 0.0, 3.0])
    assert cross_covariance_score(affine, z) == pytest.approx(score, rel=1e-9)
    assert cross_covariance_score(X.astype(np.float32), z) == pytest.approx(
        score, rel=1e-5
    )
    dense = np.where(np.abs(X) < 1, 0.0, X)
    assert cross_covariance_score(sp.csc_matrix(dense), z) == pytest.approx(
        cross_covariance_score(dense, z), rel=1e-12
    )


@pytest.mark.parametrize("scale", [1e-300, 1e-170, 1e154, 1e300])
def test_cross_covariance_at_extreme_scales(rng, scale):
    # Squares of such values overflow or underflow; the score once came out
    # 0, which reads as perfectly guarded.
    X, z = make_concept_data(rng, n=300, d=3, k=2)
    number = X[:, 0] + rng.normal(size=300)
    assert cross_covariance_score(X * scale, z) == pytest.approx(
        cross_covariance_score(X, z), rel=1e-9
    )
    assert cross_covariance_score(X, number * scale) == pytest.approx(
        cross_covariance_score(X, number), rel=1e-9
    )


def test_cross_covariance_integer_weights_repeat_rows(rng):
    X, z = make_concept_data(rng, n=200, d=3, k=3)
    w = rng.integers(0, 4, size=200)
    repeated = cross_covariance_score(np.repeat(X, w, axis=0), np.repeat(z, w))
    assert cross_covariance_score(X, z, sample_weight=w) == pytest.approx(
        repeated, rel=1e-10
    )


def test_cross_covariance_extremes(rng):
    z = rng.integers(0, 2, size=100)
    X = np.column_stack([rng.normal(size=100), 3.0 * z - 1.0, np.full(100, 2.0)])
    assert cross_covariance_score(X, z) == pytest.approx(1.0)
    assert cross_covariance_score(X, np.zeros(100, dtype=int)) == 0.0
    assert cross_covariance_score(np.full((100, 2), 5.0), z) == 0.0


def test_cross_covariance_validation():
    X = np.ones((10, 2))
    z = np.arange(10) % 2
    with pytest.raises(ValueError, match="X must be 2-D"):
        cross_covariance_score(np.ones(10), z)
    with pytest.raises(ValueError, match="concept has 9 rows"):
        cross_covariance_score(X, z[:9])
    with pytest.raises(ValueError, match="sample_weight"):
        cross_covariance_score(X, z, sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="(?i)sample.weight"):
        cross_covariance_score(X, z, sample_weight=np.zeros(10))


# -- make_leakage_scorer ----------------------------------------------------------


def test_scorer_measures_the_final_steps_input(rng):
    X, z = make_concept_data(rng, n=300, d=4, k=2)
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), LeaceTransformer(), LogisticRegression())
    pipe.fit(X, y, leacetransformer__concept=z)
    features = pipe[:-1].transform(X)
    probe = make_leakage_scorer("probe", cv=3, scoring="roc_auc")
    assert probe(pipe, X, y, sensitive_features=z) == linear_probe_score(
        features, z, cv=3, scoring="roc_auc"
    )
    xcov = make_leakage_scorer("cross_covariance")
    assert xcov(pipe, X, sensitive_features=z) == cross_covariance_score(features, z)
    assert xcov(pipe, X, sensitive_features=z) < 1e-10
    model = LogisticRegression().fit(X, y)
    assert xcov(model, X, sensitive_features=z) == cross_covariance_score(X, z)


def test_scorer_without_sensitive_features_says_how_to_route(rng):
    X, z = make_concept_data(rng, n=100, d=3, k=2)
    model = LogisticRegression().fit(X, z)
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        make_leakage_scorer()(model, X, z)


def test_scorer_options_are_checked():
    with pytest.raises(ValueError, match="kind must be one of"):
        make_leakage_scorer("accuracy")
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['cv'\]"):
        make_leakage_scorer("cross_covariance", cv=3)
    with pytest.raises(ValueError, match="scoring must be"):
        make_leakage_scorer("probe", scoring="f1")
    with pytest.raises(ValueError, match="True or a string alias"):
        make_leakage_scorer().set_score_request(sensitive_features=False)


def test_scorer_requests_sensitive_features_and_pickles():
    scorer = make_leakage_scorer("probe", cv=3)
    assert repr(scorer) == "make_leakage_scorer(kind='probe', cv=3)"
    routing = scorer.get_metadata_routing()
    assert routing.consumes("score", ["sensitive_features"]) == {"sensitive_features"}
    scorer.set_score_request(sensitive_features="group")
    assert scorer.get_metadata_routing().consumes("score", ["group"]) == {"group"}
    assert repr(pickle.loads(pickle.dumps(scorer))) == repr(scorer)


@pytest.mark.parametrize("alias", [None, "group"])
def test_scorer_routed_by_cross_validate(rng, alias):
    X, z = make_concept_data(rng, n=600, d=4, k=3)
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    name = alias or "sensitive_features"
    xcov = make_leakage_scorer("cross_covariance")
    if alias:
        xcov.set_score_request(sensitive_features=alias)
    with config_context(enable_metadata_routing=True):
        eraser = LeaceTransformer().set_fit_request(concept=name)
        result = cross_validate(
            make_pipeline(eraser, LogisticRegression()),
            X,
            y,
            cv=KFold(3),
            scoring={"xcov": xcov, "accuracy": "accuracy"},
            params={name: z},
            return_train_score=True,
            error_score="raise",
        )
    assert np.all(result["train_xcov"] < 1e-10)
    assert np.all(result["test_xcov"] > 1e-6)  # held-out rows: small, not exact
    assert np.all(result["test_xcov"] < 0.5 * cross_covariance_score(X, z))
