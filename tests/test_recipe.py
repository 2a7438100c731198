"""The "GridSearchCV with debiasing" recipe of docs/fairness.rst.

The recipe's code block is run as it stands (on 3000 Adult rows), and the
tests check what the page claims of it: the concept reaches each fold's
eraser, full erasure guards the training folds and brings the probe near
chance, and the refit callable picks the most accurate candidate within the
limits. Routing is switched on only inside ``sklearn.config_context``, so no
other test sees it, whatever the order.
"""

import textwrap
from pathlib import Path

import numpy as np
import pytest
import sklearn
from _helpers import make_concept_data
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from leace_sklearn import LeaceTransformer
from leace_sklearn.metrics import (
    chance_level,
    cross_covariance_score,
    make_leakage_scorer,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "fairness.rst"


def _recipe_source():
    """The first python code block after the ``fairness-recipe`` label."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(".. code-block:: python", text.index(".. _fairness-recipe:"))
    body = []
    for line in text[start:].splitlines()[1:]:
        if line.strip() and not line.startswith("   "):
            break
        body.append(line)
    return textwrap.dedent("\n".join(body))


@pytest.fixture(scope="module")
def recipe():
    if not DOCS.exists():
        pytest.skip("docs/fairness.rst is not part of this installation")
    pytest.importorskip("pandas")
    pytest.importorskip("fairlearn")
    namespace = {"__name__": "fairness_recipe"}
    # config_context restores the global configuration the recipe changes;
    # one BLAS thread avoids oversubscribing a small CI machine.
    with sklearn.config_context(), threadpool_limits(limits=1, user_api="blas"):
        exec(compile(_recipe_source(), str(DOCS), "exec"), namespace)
    return namespace


def test_recipe_leaves_routing_off(recipe):
    assert "search" in recipe
    assert sklearn.get_config()["enable_metadata_routing"] is False


def test_recipe_concept_reaches_each_fold(recipe):
    X, A, scores = recipe["X"], recipe["A"], recipe["scores"]
    folds = zip(scores["estimator"], scores["indices"]["train"], strict=True)
    for model, train in folds:
        eraser = model["leace"]
        assert eraser.concept_source_ == "concept"
        assert eraser.n_samples_seen_ == len(train)
        assert list(eraser.classes_) == ["Female", "Male"]
        features = model[:-1].transform(X.iloc[train])
        assert cross_covariance_score(features, A.iloc[train]) < 1e-10
    np.testing.assert_array_less(scores["train_xcov"], 1e-10)
    final = recipe["search"].best_estimator_["leace"]
    assert final.n_samples_seen_ == len(X)


def test_recipe_full_erasure_brings_probe_near_chance(recipe):
    results = recipe["search"].cv_results_
    chance = chance_level(recipe["A"])
    alpha = np.asarray(results["param_leace__alpha"], dtype=float)
    leakage = np.asarray(results["mean_test_leakage"])
    xcov = np.asarray(results["mean_test_xcov"])
    assert np.all(leakage[alpha == 1] < chance + 0.1)
    assert np.all(leakage[alpha == 0] > chance + 0.2)
    # An invertible map (alpha < 1) hides nothing from a linear probe.
    np.testing.assert_allclose(leakage[alpha == 0.5], leakage[alpha == 0], atol=0.03)
    assert xcov[alpha == 1].max() < xcov[alpha == 0.5].min()
    assert xcov[alpha == 0.5].max() < xcov[alpha == 0].min()


def test_recipe_refit_picks_most_accurate_fair_candidate(recipe):
    search = recipe["search"]
    results = search.cv_results_
    fair = (np.asarray(results["mean_test_leakage"]) <= recipe["MAX_LEAKAGE"]) & (
        -np.asarray(results["mean_test_dpd"]) <= recipe["MAX_DPD"]
    )
    assert fair.any()
    accuracy = np.asarray(results["mean_test_accuracy"])
    assert fair[search.best_index_]
    assert accuracy[search.best_index_] == accuracy[fair].max()
    assert search.best_params_["leace__alpha"] == 1


def test_refit_callable_choices(recipe):
    choose = recipe["most_accurate_fair"]
    limit = recipe["MAX_LEAKAGE"]
    results = {
        "mean_test_accuracy": np.array([0.9, 0.7, 0.8, 0.95]),
        "mean_test_leakage": np.array([0.9, limit + 0.2, limit + 0.2, np.nan]),
        "mean_test_dpd": np.full(4, -0.01),
    }
    # None within the limits: the least leaky, the more accurate of a tie;
    # a failed (NaN) leakage never counts as small.
    assert choose(results) == 2
    results["mean_test_leakage"] = np.full(4, limit - 0.05)
    results["mean_test_accuracy"][3] = np.nan
    assert choose(results) == 0
    results["mean_test_dpd"] = np.array([-0.5, -0.01, -0.02, -0.01])
    assert choose(results) == 2  # candidate 0 is too unfair, 3 failed


def test_grid_search_routes_concept_to_every_fold(rng):
    """Each fold's eraser sees exactly that fold's training rows and concept."""
    X, z = make_concept_data(rng, n=300, d=4, k=3)
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    folds = list(KFold(3).split(X))

    def rows_seen(estimator, X, y=None):
        return estimator["leace"].n_samples_seen_

    with sklearn.config_context(enable_metadata_routing=True):
        eraser = LeaceTransformer().set_fit_request(concept="sensitive_features")
        search = GridSearchCV(
            Pipeline([("leace", eraser), ("clf", LogisticRegression())]),
            {"leace__alpha": [0.0, 1.0]},
            scoring={
                "seen": rows_seen,
                "xcov": make_leakage_scorer("cross_covariance"),
            },
            refit=False,
            cv=folds,
            return_train_score=True,
            error_score="raise",
        )
        search.fit(X, y, sensitive_features=z)
    results = search.cv_results_
    for i, (train, _) in enumerate(folds):
        np.testing.assert_array_equal(results[f"split{i}_test_seen"], len(train))
        no_erasure, erasure = results[f"split{i}_train_xcov"]
        assert erasure < 1e-10 < 0.1 < no_erasure
