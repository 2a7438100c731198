"""Smoke run of the comparison benchmark, so that it cannot rot.

Runs ``benchmarks/compare.py --quick`` in-process, writing into a temporary
folder, and checks properties of what it measured rather than numbers.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    path = str(BENCHMARKS)
    sys.path.insert(0, path)
    try:
        spec = importlib.util.spec_from_file_location(
            "compare", BENCHMARKS / "compare.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["compare"] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("compare", None)
        sys.path.remove(path)


@pytest.fixture(scope="module")
def run(compare, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return compare.main(["--quick", "--output-dir", str(out)])


def rows_by_key(run):
    return {(r["dataset"], r["contender"]): r for r in run["quality"]}


def test_every_contender_has_a_row_on_every_dataset(run):
    rows = rows_by_key(run)
    names = run["contenders"]
    # The packages of the test extra provide these; the benchmark drops a
    # contender only when its package is missing.
    for expected in ("leace_sklearn leace (NumPy)", "fairlearn CorrelationRemover"):
        assert expected in names
    assert {"INLP", "R-LACE"} <= set(names)
    # A contender whose package is installed must not be dropped silently
    # (CI installs the bench extra for a second run of this file).
    optional = {
        "concept_erasure": "concept-erasure leace",
        "sklego": "scikit-lego InformationFilter",
        "torch": "leace_sklearn leace (torch CPU)",
    }
    for module, name in optional.items():
        if importlib.util.find_spec(module) is not None:
            assert name in names, name
    for data in run["datasets"]:
        for name in names:
            row = rows[(data.name, name)]
            assert "error" not in row, row.get("error")
            for key in ("corr", "probe_in", "probe_cv", "probe_out", "moved", "fit"):
                assert np.isfinite(row[key]), (data.name, name, key)


def test_leace_sklearn_erases_exactly(run, compare):
    rows = rows_by_key(run)
    ours = [n for n in run["contenders"] if n.startswith("leace_sklearn")]
    assert len(ours) >= 2
    for data in run["datasets"]:
        before = rows[(data.name, "none (original features)")]
        # The original features leak, so the checks below can fail.
        assert before["corr"] > 0.1
        assert before["probe_in"] > data.chance + 0.05
        for name in ours:
            row = rows[(data.name, name)]
            assert row["corr"] < compare.ZERO_CORR, (data.name, name)
            assert abs(row["probe_in"] - data.chance) <= compare.CHANCE_TOL


def test_leace_moves_the_data_least_among_x_only_erasers(run):
    # LEACE is the least-squares optimal eraser that sees only x, so on the
    # rows it was fitted to it moves them no more than the orthogonal
    # projection with the same guarantee.
    rows = rows_by_key(run)
    for data in run["datasets"]:
        leace = rows[(data.name, "leace_sklearn leace (NumPy)")]["moved"]
        orth = rows[(data.name, "leace_sklearn orth (NumPy)")]["moved"]
        assert leace <= orth * (1 + 1e-9)


def test_scaling_curves_time_every_contender_at_the_smallest_size(run):
    for times in run["scaling"].values():
        for name in run["contenders"]:
            first = min(times[name])
            assert times[name][first] > 0


def test_report_and_plots_are_written(run):
    text = run["markdown"].read_text(encoding="utf-8")
    for name in run["contenders"]:
        assert f"| {name} |" in text
    assert "## Expectations, checked" in text
    assert "Versions:" in text and "Machine:" in text
    assert len(run["plots"]) == 3
    for path in run["plots"]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fantope_projection_lands_in_the_fantope(compare):
    from baselines.rlace import fantope_project

    rng = np.random.default_rng(0)
    for d, rank in [(5, 1), (12, 4)]:
        P = fantope_project(rng.standard_normal((d, d)), rank)
        eigenvalues = np.linalg.eigvalsh(P)
        np.testing.assert_allclose(P, P.T)
        assert np.isclose(np.trace(P), rank)
        assert eigenvalues.min() > -1e-12 and eigenvalues.max() < 1 + 1e-12
        # A point already in the Fantope is its own projection.
        np.testing.assert_allclose(fantope_project(P, rank), P, atol=1e-10)


def test_inlp_removes_an_orthonormal_subspace(compare):
    from baselines import INLP

    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, size=600)
    X = rng.standard_normal((600, 6)) + np.eye(3, 6)[z]
    model = INLP().fit(X, z)
    basis = model.basis_
    assert model.rank_ >= 2
    np.testing.assert_allclose(basis.T @ basis, np.eye(model.rank_), atol=1e-10)
    np.testing.assert_allclose(model.transform(X) @ basis, 0.0, atol=1e-10)
