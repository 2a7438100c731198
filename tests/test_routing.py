"""How the concept reaches the transformer in a Pipeline: routing on and off.

Each test checks where the concept went by its effect: the erased features
have zero cross-covariance with the concept (not with y), and each fold's
transformer saw exactly that fold's rows.
"""

import numpy as np
import pytest
from _helpers import leakage, make_concept_data, one_hot
from sklearn import config_context
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_validate,
)
from sklearn.pipeline import Pipeline

from leace_sklearn import LeaceTransformer


@pytest.fixture
def data(rng):
    X, z = make_concept_data(rng, n=300, d=5, k=3)
    # y depends on X but is not z, so erasing y instead of z is detectable.
    y = (X[:, 0] + X[:, 1] > np.median(X[:, 0] + X[:, 1])).astype(int)
    return X, y, z


def _pipe(leace=None):
    return Pipeline(
        [("leace", leace or LeaceTransformer()), ("clf", LogisticRegression())]
    )


def _assert_erased_per_fold(result, X, z):
    """Every fold's eraser was fitted on that fold's rows and concept."""
    for est, train in zip(result["estimator"], result["indices"]["train"], strict=True):
        leace = est.named_steps["leace"]
        assert leace.concept_source_ == "concept"
        assert leace.n_samples_seen_ == len(train)
        erased = leace.transform(X[train])
        assert leakage(X[train], erased, one_hot(z[train])) < 1e-10


# -- routing on ---------------------------------------------------------------


def test_routing_concept_request(data):
    X, y, z = data
    with config_context(enable_metadata_routing=True):
        pipe = _pipe(LeaceTransformer().set_fit_request(concept=True))
        pipe.fit(X, y, concept=z)
    leace = pipe.named_steps["leace"]
    assert leace.concept_source_ == "concept"
    assert leace.classes_.tolist() == [0, 1, 2]
    assert leakage(X, leace.transform(X), one_hot(z)) < 1e-10


def test_routing_alias_feeds_transformer_per_fold(data):
    X, y, z = data
    with config_context(enable_metadata_routing=True):
        leace = LeaceTransformer().set_fit_request(concept="sensitive_features")
        result = cross_validate(
            _pipe(leace),
            X,
            y,
            cv=KFold(3, shuffle=True, random_state=0),
            params={"sensitive_features": z},
            return_estimator=True,
            return_indices=True,
        )
    _assert_erased_per_fold(result, X, z)


def test_routing_alias_in_grid_search(data):
    X, y, z = data
    with config_context(enable_metadata_routing=True):
        leace = LeaceTransformer().set_fit_request(concept="sensitive_features")
        search = GridSearchCV(
            _pipe(leace), {"leace__alpha": [0.0, 1.0], "clf__C": [0.1, 1.0]}, cv=3
        )
        search.fit(X, y, sensitive_features=z)
    best = search.best_estimator_.named_steps["leace"]
    assert best.n_samples_seen_ == len(X)
    assert len(search.cv_results_["params"]) == 4
    full = LeaceTransformer().fit(X, concept=z)
    np.testing.assert_allclose(best.proj_left_, full.proj_left_)


def test_routing_partial_fit_request(data):
    X, y, z = data
    with config_context(enable_metadata_routing=True):
        est = LeaceTransformer().set_partial_fit_request(concept=True)
        est.partial_fit(X[:100], concept=z[:100]).partial_fit(X[100:], concept=z[100:])
        with pytest.raises(ValueError, match="no concept arrived"):
            est.partial_fit(X, y)
    np.testing.assert_allclose(
        est.proj_left_, LeaceTransformer().fit(X, concept=z).proj_left_, atol=1e-12
    )


# -- the guard ------------------------------------------------------------------


@pytest.mark.parametrize("request_value", [True, "sensitive_features"])
def test_guard_missing_routed_concept(data, request_value):
    X, y, _ = data
    with config_context(enable_metadata_routing=True):
        pipe = _pipe(LeaceTransformer().set_fit_request(concept=request_value))
        with pytest.raises(ValueError, match="no concept arrived.*would be erased"):
            pipe.fit(X, y)
        with pytest.raises(ValueError, match="no concept arrived"):
            pipe.named_steps["leace"].fit_transform(X, y)


def test_guard_in_grid_search_names_the_alias(data):
    X, y, _ = data
    with config_context(enable_metadata_routing=True):
        leace = LeaceTransformer().set_fit_request(concept="sensitive_features")
        search = GridSearchCV(
            _pipe(leace), {"leace__alpha": [1.0]}, cv=2, error_score="raise"
        )
        with pytest.raises(ValueError, match="sensitive_features=A"):
            search.fit(X, y)


def test_no_guard_without_request_or_when_declined(data):
    X, y, z = data
    with config_context(enable_metadata_routing=True):
        # Standalone fit(X, z) erases z: the documented fallback.
        plain = LeaceTransformer().fit(X, z)
        declined = LeaceTransformer().set_fit_request(concept=False).fit(X, y)
    assert plain.concept_source_ == declined.concept_source_ == "y"
    assert leakage(X, plain.transform(X), one_hot(z)) < 1e-10


def test_guard_not_triggered_with_concept_columns(data):
    X, y, z = data
    full = np.column_stack([X, z == 1])
    with config_context(enable_metadata_routing=True):
        est = LeaceTransformer(concept_columns=[-1]).set_fit_request(concept=True)
        est.fit(full, y)
    assert est.concept_source_ == "concept_columns"


# -- routing off (the default) ----------------------------------------------------


def test_pipeline_step_parameter(data):
    X, y, z = data
    pipe = _pipe().fit(X, y, leace__concept=z)
    leace = pipe.named_steps["leace"]
    assert leace.concept_source_ == "concept"
    assert leakage(X, leace.transform(X), one_hot(z)) < 1e-10


def test_concept_split_per_fold_without_routing(data):
    X, y, z = data
    result = cross_validate(
        _pipe(),
        X,
        y,
        cv=KFold(4, shuffle=True, random_state=1),
        params={"leace__concept": z},
        return_estimator=True,
        return_indices=True,
    )
    _assert_erased_per_fold(result, X, z)


@pytest.mark.parametrize("search_cls", [GridSearchCV, RandomizedSearchCV])
def test_search_without_routing(data, search_cls):
    X, y, z = data
    grid = {"leace__alpha": [0.0, 0.5, 1.0], "leace__method": ["leace", "orth"]}
    kwargs = (
        {"n_iter": 4, "random_state": 0} if search_cls is RandomizedSearchCV else {}
    )
    search = search_cls(_pipe(), grid, cv=3, **kwargs).fit(X, y, leace__concept=z)
    leace = search.best_estimator_.named_steps["leace"]
    assert leace.concept_source_ == "concept"
    assert leace.n_samples_seen_ == len(X)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
