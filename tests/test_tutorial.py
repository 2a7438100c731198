"""The claims of docs/tutorial.rst, checked on a subset of the Adult data.

The tutorial's pipeline and data come from docs/plots/alpha_sweep.py, the
script that produced its numbers, so these tests also keep that script
working. Each claim is checked as a property, against the un-erased pipeline
where a comparison shows that the check can fail.
"""

import csv
import importlib.util
import socket
from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn import config_context
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from leace_sklearn import LeaceTransformer
from leace_sklearn.metrics import (
    chance_level,
    cross_covariance_score,
    linear_probe_score,
)

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "plots" / "alpha_sweep.py"
N_TRAIN, N_TEST = 3000, 1500


def _load_script():
    spec = importlib.util.spec_from_file_location("alpha_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sweep = _load_script()


@pytest.fixture(scope="module")
def train():
    return sweep.load("train", N_TRAIN)


@pytest.fixture(scope="module")
def held_out():
    return sweep.load("test", N_TEST)


def _fit(alpha, train):
    X, y, sex = train
    return sweep.make_model(alpha).fit(X, y, leace__concept=sex)


@pytest.fixture(scope="module")
def erased(train):
    return _fit(1.0, train)


@pytest.fixture(scope="module")
def unerased(train):
    return _fit(0.0, train)


def test_sex_is_not_a_feature(train):
    X, _, _ = train
    assert "sex" not in X.columns


def test_cross_covariance_is_zero_on_training_rows(train, erased, unerased):
    X, _, sex = train
    assert cross_covariance_score(unerased[:-1].transform(X), sex) > 0.3
    assert cross_covariance_score(erased[:-1].transform(X), sex) < 1e-8


def test_probe_is_at_chance_on_training_rows(train, erased, unerased):
    X, _, sex = train
    chance = chance_level(sex)
    assert linear_probe_score(unerased[:-1].transform(X), sex) > chance + 0.2
    # Cross-validated probes on rows the eraser was fitted to spread around
    # chance by several hundredths, mostly below it: each held-out fold's
    # leftover signal is the exact opposite of its training folds'. Above
    # chance is what would mean leakage.
    assert linear_probe_score(erased[:-1].transform(X), sex) < chance + 0.1


def test_probe_fitted_in_sample_learns_nothing(train, erased, unerased):
    X, _, sex = train
    coefs = []
    for model in (unerased, erased):
        probe = LogisticRegression(class_weight="balanced", max_iter=1000)
        coefs.append(np.abs(probe.fit(model[:-1].transform(X), sex).coef_).max())
    assert coefs[0] > 0.1
    assert coefs[1] < 1e-6


def test_mean_decision_score_is_equal_across_groups(train, erased, unerased):
    X, _, sex = train
    groups = np.unique(sex)
    assert len(groups) == 2
    gaps = []
    for model in (unerased, erased):
        scores = model.decision_function(X)
        means = [scores[sex == g].mean() for g in groups]
        gaps.append(abs(means[0] - means[1]) / scores.std())
    assert gaps[0] > 0.3
    assert gaps[1] < 1e-8


def _without_eraser():
    return Pipeline([s for s in sweep.make_model().steps if s[0] != "leace"])


def test_erasure_lowers_demographic_parity_difference(train, held_out, erased):
    X, y, sex = held_out
    plain = _without_eraser().fit(train[0], train[1])
    before, after = (
        demographic_parity_difference(y, m.predict(X), sensitive_features=sex)
        for m in (plain, erased)
    )
    assert after < before / 2


def test_alpha_zero_is_the_pipeline_without_eraser(train, held_out, unerased):
    X, y, _ = train
    plain = _without_eraser().fit(X, y)
    X_test = held_out[0]
    np.testing.assert_array_equal(
        unerased[:-1].transform(X_test), plain[:-1].transform(X_test)
    )
    np.testing.assert_array_equal(
        unerased.decision_function(X_test), plain.decision_function(X_test)
    )


def test_metadata_routing_gives_the_same_model(train, erased):
    X, y, sex = train
    with config_context(enable_metadata_routing=True):
        model = sweep.make_model()
        model.set_params(
            leace=LeaceTransformer().set_fit_request(concept="sensitive_features")
        )
        model.fit(X, y, sensitive_features=sex)
    np.testing.assert_array_equal(model[-1].coef_, erased[-1].coef_)


def test_sweep_script_runs_offline(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    argv = ["--out-dir", str(tmp_path), "--n-train", "1500", "--n-test", "800"]
    rows = sweep.main([*argv, "--alphas", "0", "1"])

    assert [r["alpha"] for r in rows] == [0.0, 1.0]
    assert rows[1]["cross_cov_train"] < 1e-8 < rows[0]["cross_cov_train"]
    with open(tmp_path / "alpha_sweep.csv", newline="") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == sweep.COLUMNS
    assert [row[0] for row in table[1:]] == ["0", "1"]
    png = (tmp_path / "alpha_sweep.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
