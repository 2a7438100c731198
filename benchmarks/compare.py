"""Head-to-head comparison of leace_sklearn with the other concept erasers.

Answers three questions with numbers from one run, on the same data:

1. Erasure: is the concept gone? The largest correlation between an output
   feature and an encoded concept column (and the raw largest covariance),
   and a class-balanced linear probe fitted and scored on the erased
   training rows (in-sample: what the guarantee covers), cross-validated on
   them, and cross-validated on held-out rows erased by the eraser fitted to
   the training rows.
2. Damage: how much did the data change? The mean squared displacement
   E||x' - x||^2, the accuracy of a model fitted on the original features
   and evaluated on erased ones (frozen), and of a model refitted on erased
   features (retrained).
3. Cost: fit and transform time and peak memory, and the time of
   fit + transform as n grows (10^3 to 10^6) and as d grows (16 to 2048).

Contenders: LeaceTransformer (method "leace" and "orth", NumPy and torch-CPU
backends), EleutherAI's concept-erasure (LeaceFitter, torch CPU, its
defaults), fairlearn's CorrelationRemover and scikit-lego's
InformationFilter (the concept appended to X as columns, as their
documentation describes), and INLP and R-LACE (``benchmarks/baselines``,
written from their papers). Datasets: synthetic data with a binary, a
10-class and a continuous concept, and the bundled UCI Adult data with sex
and race as the concept.

Run from the root of the repository::

    python benchmarks/compare.py            # full run, about 10 minutes
    python benchmarks/compare.py --quick    # smoke run, seconds

It writes ``benchmarks/results/compare.md`` and ``docs/_static/compare_*.png``
(or both into ``--output-dir``). Timings use one BLAS thread and one torch
thread (``--threads``). Peak memory is the growth of the resident set size
during fit + transform (Linux only; "n/a" elsewhere).
"""

import argparse
import ctypes
import datetime
import gc
import os
import platform
import subprocess
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.feature_selection import VarianceThreshold
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import leace_sklearn
from leace_sklearn import LeaceTransformer, load_adult
from leace_sklearn.metrics import cross_covariance_score, linear_probe_score

try:  # the baselines sit beside this script
    from baselines import INLP, RLACE
except ImportError:  # imported from elsewhere, e.g. by the test suite
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baselines import INLP, RLACE

try:
    import torch
except ImportError:  # pragma: no cover - the torch contenders are skipped
    torch = None
try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - no progress bar then
    tqdm = None

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20
# "At chance": a probe within this much of the score of a constant one
# (balanced accuracy 1/k, or R^2 0 for a numeric concept).
CHANCE_TOL = 0.02
# "Zero" cross-covariance: the largest |correlation| left, float64 data.
ZERO_CORR = 1e-8
OURS = "leace_sklearn leace (NumPy)"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@dataclass
class Dataset:
    """Train and test splits of features, concept and target."""

    name: str
    description: str
    X_train: np.ndarray
    X_test: np.ndarray
    z_train: np.ndarray  # integer codes, or floats for a numeric concept
    z_test: np.ndarray
    y_train: np.ndarray  # a binary target for the downstream model
    y_test: np.ndarray

    @property
    def numeric(self):
        return np.issubdtype(self.z_train.dtype, np.floating)

    @property
    def chance(self):
        return 0.0 if self.numeric else 1.0 / np.unique(self.z_train).size


def _mixing(rng, d):
    """A random d x d map with singular values from 0.3 to 3 (log-spaced)."""
    q1, _ = np.linalg.qr(rng.standard_normal((d, d)))
    q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (q1 * np.geomspace(0.3, 3.0, d)) @ q2


def make_synthetic(kind, n_train, n_test, d, seed):
    """Correlated Gaussian features whose class means depend on the concept.

    ``kind`` is "binary" (30 % positives), "10-class" (class frequencies
    from 25 % down to 2 %, mean shifts from weak to strong) or "continuous"
    (an age-like concept, mean 40 and sd 12, shifting the features along
    one direction). The target is a logistic function of the features
    whose weights point partly along the concept's directions, so that
    erasure costs some accuracy.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    mixing = _mixing(rng, d)
    X = rng.standard_normal((n, d)) @ mixing
    if kind == "binary":
        z = (rng.random(n) < 0.3).astype(np.int64)
        shifts = 0.6 * rng.standard_normal((2, d)) @ mixing / np.sqrt(d)
        X += shifts[z]
        directions = shifts[1] - shifts[0]
    elif kind == "10-class":
        prior = 0.72 ** np.arange(10)
        z = rng.choice(10, size=n, p=prior / prior.sum())
        strength = np.geomspace(0.05, 1.0, 10)[rng.permutation(10)]
        shifts = strength[:, None] * rng.standard_normal((10, d)) @ mixing
        X += shifts[z] / np.sqrt(d)
        directions = shifts.T @ rng.standard_normal(10) / np.sqrt(d)
    elif kind == "continuous":
        z = rng.normal(40.0, 12.0, size=n)
        direction = rng.standard_normal(d) @ mixing / np.sqrt(d)
        X += np.outer((z - 40.0) / 12.0, direction)
        directions = direction
    else:
        raise ValueError(f"kind must be binary, 10-class or continuous, got {kind!r}")
    weights = rng.standard_normal(d) / np.sqrt(d)
    weights += directions / np.linalg.norm(directions)
    logit = X @ weights
    logit = 2.0 * (logit - np.median(logit)) / logit.std()
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    what = {
        "binary": "binary concept, 30 % positive",
        "10-class": "10 classes, 25 % to 2 %",
        "continuous": "continuous concept, N(40, 12^2)",
    }[kind]
    return Dataset(
        f"synthetic {kind}",
        f"Gaussian, {what}",
        X[:n_train],
        X[n_train:],
        z[:n_train],
        z[n_train:],
        y[:n_train],
        y[n_train:],
    )


def make_adult(concept, *, raw=False, max_train=None, max_test=None):
    """UCI Adult: features without ``concept``, one-hot encoded and scaled.

    Categorical columns are one-hot encoded and numeric ones standardized
    (both fitted on the training split). Unless ``raw``, columns with
    variance below 0.01 are then dropped (one-hot columns of categories on
    fewer than about 1 % of the rows): on them, a probe fitted to some of
    the erased rows can recover the concept from the few rows where they
    are non-zero. The target is income > 50K.
    """
    parts = []
    for subset, rows in (("train", max_train), ("test", max_test)):
        bunch = load_adult(subset=subset, as_frame=True)
        data, target = bunch.data, bunch.target
        if rows is not None:
            data, target = data.iloc[:rows], target.iloc[:rows]
        parts.append((data, target))
    (train, y_train), (test, y_test) = parts
    encode = ColumnTransformer(
        [
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_include="category"),
            ),
            ("num", StandardScaler(), make_column_selector(dtype_include="number")),
        ]
    )
    prep = (
        make_pipeline(encode) if raw else make_pipeline(encode, VarianceThreshold(0.01))
    )
    X_train = prep.fit_transform(train.drop(columns=concept))
    X_test = prep.transform(test.drop(columns=concept))
    classes = np.unique(np.asarray(train[concept], dtype=str))
    z_train = np.searchsorted(classes, np.asarray(train[concept], dtype=str))
    z_test = np.searchsorted(classes, np.asarray(test[concept], dtype=str))
    positive = np.unique(np.asarray(y_train, dtype=str))[-1]
    preprocessing = "raw one-hot" if raw else "one-hot, variance >= 0.01"
    return Dataset(
        f"Adult {concept}" + (" (raw one-hot)" if raw else ""),
        f"UCI Adult, {preprocessing}; {len(classes)} classes",
        np.ascontiguousarray(X_train, dtype=np.float64),
        np.ascontiguousarray(X_test, dtype=np.float64),
        z_train.astype(np.int64),
        z_test.astype(np.int64),
        (np.asarray(y_train, dtype=str) == positive).astype(np.int64),
        (np.asarray(y_test, dtype=str) == positive).astype(np.int64),
    )


def concept_matrix(z):
    """The concept as columns: one indicator per class, or the number itself."""
    if np.issubdtype(z.dtype, np.floating):
        return z.reshape(-1, 1).astype(np.float64)
    classes = np.unique(z)
    return (z[:, None] == classes[None, :]).astype(np.float64)


# --------------------------------------------------------------------------
# Contenders: fit(X, z, Z) returns transform(X, z, Z) -> ndarray. ``z`` is the
# concept (codes or floats), ``Z`` its columns (indicators or the number).
# --------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    fit: object
    # Needs the concept of every row it transforms (True for the two that
    # take it as columns of X), so it cannot erase rows whose concept is
    # unknown.
    oracle: bool = False
    # Iterative baselines: capped by the time budget of the scaling curves.
    slow: bool = False


def _leace_numpy(method):
    def fit(X, z, Z):
        model = LeaceTransformer(method=method).fit(X, concept=z)
        return lambda X, z, Z: model.transform(X)

    return fit


def _leace_torch(method):
    def fit(X, z, Z):
        model = LeaceTransformer(method=method).fit(torch.from_numpy(X), concept=z)
        return lambda X, z, Z: model.transform(torch.from_numpy(X)).numpy()

    return fit


def _concept_erasure(method):
    from concept_erasure import LeaceFitter

    def fit(X, z, Z):
        # As published: the defaults (shrinkage, svd_tol=0.01, trace
        # constraint), a one-hot concept as its README asks.
        eraser = LeaceFitter.fit(
            torch.from_numpy(X), torch.from_numpy(Z), method=method
        ).eraser
        return lambda X, z, Z: eraser(torch.from_numpy(X)).numpy()

    return fit


def _with_concept_columns(make):
    """Fit ``make(ids)`` on [X, Z], the concept columns ``ids`` at the end."""

    def fit(X, z, Z):
        ids = list(range(X.shape[1], X.shape[1] + Z.shape[1]))
        model = make(ids).fit(np.hstack([X, Z]))
        return lambda X, z, Z: model.transform(np.hstack([X, Z]))

    return fit


def _baseline(make):
    def fit(X, z, Z):
        model = make().fit(X, z)
        return lambda X, z, Z: model.transform(X)

    return fit


def make_contenders(quick):
    """Every contender whose package is installed, in the order of the tables."""
    contenders = [
        Contender(OURS, _leace_numpy("leace")),
        Contender("leace_sklearn orth (NumPy)", _leace_numpy("orth")),
    ]
    if torch is not None:
        contenders += [
            Contender("leace_sklearn leace (torch CPU)", _leace_torch("leace")),
            Contender("leace_sklearn orth (torch CPU)", _leace_torch("orth")),
        ]
        try:
            contenders += [
                Contender("concept-erasure leace", _concept_erasure("leace")),
                Contender("concept-erasure orth", _concept_erasure("orth")),
            ]
        except ImportError:
            pass
    try:
        from fairlearn.preprocessing import CorrelationRemover

        contenders.append(
            Contender(
                "fairlearn CorrelationRemover",
                _with_concept_columns(
                    lambda ids: CorrelationRemover(sensitive_feature_ids=ids)
                ),
                oracle=True,
            )
        )
    except ImportError:
        pass
    try:
        from sklego.preprocessing import InformationFilter

        contenders.append(
            Contender(
                "scikit-lego InformationFilter",
                _with_concept_columns(lambda ids: InformationFilter(columns=ids)),
                oracle=True,
            )
        )
    except ImportError:
        pass
    rlace = {"max_iter": 200, "eval_every": 100} if quick else {}
    contenders += [
        Contender("INLP", _baseline(INLP), slow=True),
        Contender("R-LACE", _baseline(lambda: RLACE(**rlace)), slow=True),
    ]
    return contenders


def package_versions():
    names = [
        "numpy",
        "scipy",
        "scikit-learn",
        "torch",
        "concept-erasure",
        "fairlearn",
        "scikit-lego",
        "threadpoolctl",
        "matplotlib",
    ]
    found = {
        "python": platform.python_version(),
        "leace_sklearn": leace_sklearn.__version__,
    }
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


# --------------------------------------------------------------------------
# Timing and memory
# --------------------------------------------------------------------------


class PeakRSS:
    """Growth of the resident set size while a function runs (Linux).

    The kernel's high-water mark (VmHWM) is reset before the call by
    writing 5 to /proc/self/clear_refs. glibc is told to serve blocks of
    1 MiB and more with mmap and to return freed memory at once, so that
    memory freed before the call is not silently reused without counting.
    """

    def __init__(self):
        self.available = False
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._read("VmHWM")
        except OSError:
            return
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 1 << 20)  # M_TRIM_THRESHOLD
        except (OSError, AttributeError):
            pass
        self.available = True

    @staticmethod
    def _read(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise OSError(f"{key} not in /proc/self/status")

    def start(self):
        if self.available:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._base = self._read("VmRSS")

    def stop(self):
        """Peak bytes above the start, or NaN if not measurable here."""
        if not self.available:
            return float("nan")
        return float(self._read("VmHWM") - self._base)


def timed(fn, *args):
    """``(result, seconds)``; the garbage collector is off meanwhile."""
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn(*args)
        return result, time.perf_counter() - start
    finally:
        gc.enable()


def _warning_note(caught):
    counts = Counter(w.category.__name__ for w in caught)
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


# --------------------------------------------------------------------------
# Quality: erasure and damage on one dataset
# --------------------------------------------------------------------------


def _probe(numeric):
    """The probe of leace_sklearn.metrics: scaled, class-balanced, linear."""
    if numeric:
        return make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    return make_pipeline(StandardScaler(), model)


def _probe_score(numeric, z, predicted):
    if numeric:
        return float(r2_score(z, predicted))
    return float(balanced_accuracy_score(z, predicted))


def warm_up(contenders):
    """Run every contender once on small data, so that lazy initialisation
    (library loading, thread pools) is not timed or counted as memory."""
    data = make_synthetic("10-class", 300, 0, 12, 12345)
    Z = concept_matrix(data.z_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in contenders:
            try:
                c.fit(data.X_train, data.z_train, Z)(data.X_train, data.z_train, Z)
            except Exception:  # reported when it fails on the real data
                pass


def _downstream():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def erasure_and_damage(data, E_train, E_test, frozen, cv):
    """Every erasure and damage measure of one erased dataset."""
    Z = concept_matrix(data.z_train)
    cov = (E_train - E_train.mean(axis=0)).T @ (Z - Z.mean(axis=0)) / len(Z)
    # In-sample: the probe is fitted and scored on the rows the eraser was
    # fitted to. A probe fitted on all of them and applied to new rows would
    # be a constant for an exact eraser (its weights are zero), so the
    # held-out score is a probe cross-validated on the erased test rows: what
    # an adversary holding new erased rows and their labels can recover.
    probe = _probe(data.numeric).fit(E_train, data.z_train)
    retrained = _downstream().fit(E_train, data.y_train)
    return {
        "corr": cross_covariance_score(E_train, data.z_train),
        "cov": float(np.abs(cov).max()),
        "probe_in": _probe_score(data.numeric, data.z_train, probe.predict(E_train)),
        "probe_cv": linear_probe_score(E_train, data.z_train, cv=cv),
        "probe_out": linear_probe_score(E_test, data.z_test, cv=cv),
        "moved": float(np.mean(np.sum((E_train - data.X_train) ** 2, axis=1))),
        "frozen": float(accuracy_score(data.y_test, frozen.predict(E_test))),
        "retrained": float(accuracy_score(data.y_test, retrained.predict(E_test))),
    }


def run_quality(data, contender, frozen, memory, cv):
    """Fit on the training split, erase both splits, measure; never raises."""
    row = {"dataset": data.name, "contender": contender.name}
    Z_train, Z_test = concept_matrix(data.z_train), concept_matrix(data.z_test)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            memory.start()
            erase, fit_s = timed(contender.fit, data.X_train, data.z_train, Z_train)
            E_train, transform_s = timed(erase, data.X_train, data.z_train, Z_train)
            row["memory"] = memory.stop()
            E_test = erase(data.X_test, data.z_test, Z_test)
            row.update(fit=fit_s, transform=transform_s)
            row.update(erasure_and_damage(data, E_train, E_test, frozen, cv))
        except Exception as exc:  # a failure is a result to report
            row["error"] = f"{type(exc).__name__}: {exc}"
    row["warnings"] = _warning_note(caught)
    return row


def reference_row(data, frozen, cv):
    """The same measures on the original features (nothing erased)."""
    row = {"dataset": data.name, "contender": "none (original features)"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row.update(erasure_and_damage(data, data.X_train, data.X_test, frozen, cv))
    row["warnings"] = _warning_note(caught)
    return row


# --------------------------------------------------------------------------
# Scaling: fit + transform time against n and against d
# --------------------------------------------------------------------------


def run_scaling(contenders, grid, make_data, growth, budget, memory, progress, repeat):
    """Time fit + transform of every contender at every point of ``grid``.

    A contender whose time at the previous point, times
    ``(size ratio) ** growth``, exceeds ``budget`` seconds is skipped at
    the remaining points (recorded as None). Points faster than 0.5 s are
    run ``repeat`` times and the best time is kept.
    """
    times = {c.name: {} for c in contenders}
    peaks = {c.name: {} for c in contenders}
    last = {}
    for size in grid:
        X, z = make_data(size)
        Z = concept_matrix(z)
        for c in contenders:
            progress.set_postfix_str(f"{c.name} @ {size}")
            previous = last.get(c.name)
            if previous is not None and (
                previous[1] * (size / previous[0]) ** growth > budget
            ):
                times[c.name][size] = peaks[c.name][size] = None
                progress.update()
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                memory.start()
                erase, fit_s = timed(c.fit, X, z, Z)
                out, transform_s = timed(erase, X, z, Z)
                peaks[c.name][size] = memory.stop()
                # Freed before the next timed call: a live output of the
                # previous run doubles the memory in use, and the page faults
                # of the next output then cost several times more.
                del erase, out
            elapsed = fit_s + transform_s
            # Cheap points are noisy on a shared machine: take the best of
            # up to three runs.
            for _ in range(repeat - 1 if elapsed < 0.5 else 0):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    erase, fit_s = timed(c.fit, X, z, Z)
                    out, transform_s = timed(erase, X, z, Z)
                    del erase, out
                elapsed = min(elapsed, fit_s + transform_s)
            times[c.name][size] = elapsed
            last[c.name] = (size, elapsed)
            progress.update()
        del X, z, Z
    return times, peaks


def scaling_data(n, d, seed):
    data = make_synthetic("binary", n, 0, d, seed)
    return data.X_train, data.z_train


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return format(value, spec)


PROBES = ("probe_in", "probe_cv", "probe_out")


def _at_chance(row, chance):
    return all(row.get(key, np.inf) <= chance + CHANCE_TOL for key in PROBES)


def quality_table(data, rows, contenders):
    probe = "R^2" if data.numeric else "balanced accuracy"
    oracle = {c.name for c in contenders if c.oracle}
    lines = [
        f"### {data.name}",
        "",
        f"{data.description}. n_train = {len(data.X_train)}, n_test = "
        f"{len(data.X_test)}, d = {data.X_train.shape[1]}; probe score: {probe}, "
        f"chance = {data.chance:.3f}. Total variance E||x - mean||^2 = "
        f"{np.sum(data.X_train.var(axis=0)):.3g}.",
        "",
        "| contender | max abs corr | max abs cov | probe in-sample | probe CV "
        "| probe held-out | E‖x'−x‖² | frozen acc | retrained acc | fit ms "
        "| transform ms | peak MiB | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['contender']} |" + " |" * 11 + f" {row['error']} |")
            continue
        notes = []
        if row["contender"] in oracle:
            notes.append("needs the concept at transform")
        if row.get("warnings"):
            notes.append(row["warnings"])
        cells = [
            row["contender"],
            _fmt(row["corr"], ".1e"),
            _fmt(row["cov"], ".1e"),
            _fmt(row["probe_in"], ".3f"),
            _fmt(row["probe_cv"], ".3f"),
            _fmt(row["probe_out"], ".3f"),
            _fmt(row["moved"], ".4g"),
            _fmt(row["frozen"], ".3f"),
            _fmt(row["retrained"], ".3f"),
            _fmt(1e3 * row["fit"], ".1f") if "fit" in row else "",
            _fmt(1e3 * row["transform"], ".1f") if "transform" in row else "",
            _fmt(row["memory"] / MiB, ".1f") if "memory" in row else "",
            "; ".join(notes),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scaling_table(title, unit, values, grid, label):
    lines = [
        f"### {title}",
        "",
        "| contender | " + " | ".join(f"{label} = {g:g}" for g in grid) + " |",
        "|---|" + "---|" * len(grid),
    ]
    for name, by_size in values.items():
        cells = []
        for g in grid:
            v = by_size.get(g)
            cells.append("skipped" if v is None else _fmt(v / unit, ".3g"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def expectations(datasets, quality, contenders, scaling):
    """Check the claims the comparison is meant to test, with numbers."""
    lines = ["## Expectations, checked", ""]
    names = [c.name for c in contenders]
    rows = {(r["dataset"], r["contender"]): r for r in quality}

    def every(pred):
        return [
            n
            for n in names
            if all(
                "error" not in rows[(d.name, n)] and pred(rows[(d.name, n)], d)
                for d in datasets
            )
        ]

    zero = every(lambda r, d: r["corr"] < ZERO_CORR)
    checks = [
        (f"1. Cross-covariance zero (max abs corr < {ZERO_CORR:g})", zero),
    ]
    for label, key in (
        ("In-sample", "probe_in"),
        ("Cross-validated", "probe_cv"),
        ("Held-out", "probe_out"),
    ):
        passed = every(lambda r, d, key=key: r[key] <= d.chance + CHANCE_TOL)
        checks.append((f"   {label} probe within {CHANCE_TOL} of chance", passed))
    lines += [
        f"{label} on every dataset: " + (", ".join(passed) or "none") + "."
        for label, passed in checks
    ]
    lines += [
        "2. Least displacement E‖x'−x‖² among the contenders whose three probes "
        f"are all within {CHANCE_TOL} of chance (or below); * marks those that "
        "need the concept at transform time:",
    ]
    for d in datasets:
        ok = [
            rows[(d.name, n)]
            for n in names
            if "error" not in rows[(d.name, n)]
            and _at_chance(rows[(d.name, n)], d.chance)
        ]
        if not ok:
            lines.append(f"   - {d.name}: no contender at chance.")
            continue
        ok.sort(key=lambda r: r["moved"])
        oracle = {c.name for c in contenders if c.oracle}
        ranking = ", ".join(
            f"{r['contender']}{'*' if r['contender'] in oracle else ''} "
            f"{r['moved']:.4g}"
            for r in ok
        )
        lines.append(f"   - {d.name}: {ranking}.")
    lines.append(
        "3. Time of fit + transform relative to leace_sklearn leace (NumPy), "
        "quality datasets (min to max over datasets):"
    )
    for n in names:
        ratios = [
            (rows[(d.name, n)]["fit"] + rows[(d.name, n)]["transform"])
            / (rows[(d.name, OURS)]["fit"] + rows[(d.name, OURS)]["transform"])
            for d in datasets
            if "fit" in rows[(d.name, n)] and "fit" in rows[(d.name, OURS)]
        ]
        if ratios and n != OURS:
            lines.append(f"   - {n}: {min(ratios):.3g}x to {max(ratios):.3g}x")
    for label, times in scaling:
        ours = times[OURS]
        parts = []
        for n in names:
            ratios = [
                times[n][g] / ours[g]
                for g in ours
                if times[n].get(g) is not None and ours[g]
            ]
            if ratios and n != OURS:
                parts.append(f"{n} {min(ratios):.3g}x to {max(ratios):.3g}x")
        lines.append(f"   - scaling in {label}: " + "; ".join(parts) + ".")
    return lines


def header(args, started, elapsed, load_before, blas):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            )
    except (OSError, StopIteration):
        pass
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    blas = "; ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in blas
    )
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items())
    mode = "quick (smoke)" if args.quick else "full"
    return [
        "# Comparison of concept erasers",
        "",
        f"Generated by `python benchmarks/compare.py{' --quick' if args.quick else ''}`"
        f" ({mode} run) on {started:%Y-%m-%d %H:%M} in {elapsed / 60:.1f} min.",
        "",
        f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; load average before the run: "
        + ", ".join(f"{x:.2f}" for x in load_before),
        f"- Threads: {args.threads} (threadpoolctl, torch.set_num_threads); "
        f"BLAS under the limit: {blas}",
        f"- Versions: {versions}",
        f"- git revision: {rev}",
        "",
    ]


def legend_lines():
    return [
        "Columns: *max abs corr* is `leace_sklearn.metrics.cross_covariance_score` "
        "(largest |correlation| between an output feature and an encoded concept "
        "column, training rows) and *max abs cov* the largest |covariance|; the "
        "probe is a standardized, class-balanced logistic regression (ridge "
        "regression, R^2, for the continuous concept), fitted on the erased "
        "training rows and scored on them (*in-sample*, what the guarantee covers), "
        "5-fold cross-validated on them (`linear_probe_score`, *CV*), and 5-fold "
        "cross-validated on the test rows erased by the eraser fitted to the "
        "training rows (*held-out*); *E‖x'−x‖²* is the mean squared "
        "displacement of the training rows; *frozen acc*: a logistic regression "
        "fitted on the original training features, evaluated on the erased test "
        "features; *retrained acc*: fitted and evaluated on erased features; "
        "*fit* on the training rows, *transform* of the training rows; *peak MiB*: "
        "growth of the resident set during fit + transform. Every eraser is "
        "fitted on the training rows and applied to both splits.",
        "",
    ]


def plot_all(out, datasets, quality, contenders, scaling, grids):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c.name for c in contenders]
    colours = dict(zip(names, plt.cm.tab10(np.linspace(0, 1, 10)), strict=False))
    markers = dict(zip(names, "os^v<>DPXh*", strict=False))
    paths = []
    for (label, times), (xlabel, grid) in zip(scaling, grids, strict=False):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for n in names:
            pts = [(g, times[n][g]) for g in grid if times[n].get(g) is not None]
            if pts:
                x, y = zip(*pts, strict=False)
                ax.loglog(x, y, marker=markers[n], color=colours[n], label=n)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fit + transform time (s)")
        ax.set_title(f"Time against {label} (binary concept, 1 thread)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out["plots"] / f"compare_time_vs_{label}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    ncols = 3
    nrows = -(-len(datasets) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 4 * nrows), squeeze=False)
    rows = {(r["dataset"], r["contender"]): r for r in quality}
    for ax, d in zip(axes.flat, datasets, strict=False):
        total = np.sum(d.X_train.var(axis=0))
        for n in names:
            r = rows[(d.name, n)]
            if "error" in r:
                continue
            ax.scatter(
                r["moved"] / total,
                r["probe_out"] - d.chance,
                marker=markers[n],
                color=colours[n],
                label=n,
                s=45,
            )
        ref = rows[(d.name, "none (original features)")]
        ax.axhline(ref["probe_out"] - d.chance, color="grey", ls=":", lw=1)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_title(d.name)
        ax.set_xlabel("E‖x'−x‖² / total variance")
        ax.set_ylabel("held-out probe − chance")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.suptitle("Damage against leakage (dotted: the original features; 0 = chance)")
    fig.tight_layout(rect=(0, 0.06 if nrows > 1 else 0.12, 1, 0.97))
    path = out["plots"] / "compare_damage_vs_leakage.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def configuration(quick):
    if quick:
        return {
            "synthetic": (400, 200, 12),
            "adult_rows": (1000, 500),
            "datasets": ["10-class", "continuous", "Adult sex"],
            "cv": 3,
            "repeat": 1,
            "n_grid": [300, 1000],
            "n_grid_d": 8,
            "d_grid": [4, 16],
            "d_grid_n": 1000,
        }
    return {
        "synthetic": (20000, 10000, 32),
        "adult_rows": (None, None),
        "datasets": [
            "binary",
            "10-class",
            "continuous",
            "Adult sex",
            "Adult race",
            "Adult sex (raw one-hot)",
        ],
        "cv": 5,
        "repeat": 3,
        "n_grid": [1000, 10000, 100000, 1000000],
        "n_grid_d": 64,
        "d_grid": [16, 64, 256, 1024, 2048],
        "d_grid_n": 10000,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, seconds")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="write compare.md and compare_*.png here (default: "
        "benchmarks/results/ and docs/_static/)",
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument(
        "--point-budget",
        type=float,
        default=None,
        help="skip a contender at the larger sizes of a scaling curve once its "
        "predicted time exceeds this many seconds (default 60; 5 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


class _NoBar:
    """Stand-in for tqdm when it is not installed."""

    def __init__(self, total, **kwargs):
        self.total = total

    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass


def main(argv=None):
    args = parse_args(argv)
    cfg = configuration(args.quick)
    budget = args.point_budget or (5.0 if args.quick else 60.0)
    if args.output_dir is None:
        out = {
            "markdown": ROOT / "benchmarks" / "results" / "compare.md",
            "plots": ROOT / "docs" / "_static",
        }
    else:
        out = {"markdown": args.output_dir / "compare.md", "plots": args.output_dir}
    out["plots"].mkdir(parents=True, exist_ok=True)
    out["markdown"].parent.mkdir(parents=True, exist_ok=True)

    started, t0 = datetime.datetime.now(), time.perf_counter()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else ()
    memory = PeakRSS()
    contenders = make_contenders(args.quick)
    n_train, n_test, d = cfg["synthetic"]
    max_train, max_test = cfg["adult_rows"]
    every_builder = {
        "binary": lambda: make_synthetic("binary", n_train, n_test, d, args.seed),
        "10-class": lambda: make_synthetic(
            "10-class", n_train, n_test, d, args.seed + 1
        ),
        "continuous": lambda: make_synthetic(
            "continuous", n_train, n_test, d, args.seed + 2
        ),
        "Adult sex": lambda: make_adult("sex", max_train=max_train, max_test=max_test),
        "Adult race": lambda: make_adult(
            "race", max_train=max_train, max_test=max_test
        ),
        "Adult sex (raw one-hot)": lambda: make_adult(
            "sex", raw=True, max_train=max_train, max_test=max_test
        ),
    }
    builders = [every_builder[name] for name in cfg["datasets"]]
    n_grid, d_grid = cfg["n_grid"], cfg["d_grid"]
    total = len(builders) * len(contenders) + len(contenders) * (
        len(n_grid) + len(d_grid)
    )
    bar = tqdm if tqdm is not None else _NoBar
    progress = bar(total=total, desc="compare", unit="run", file=sys.stderr)

    limit = threadpool_limits(args.threads)
    blas = threadpool_info()
    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(args.threads)
    try:
        warm_up(make_contenders(quick=True))
        datasets, quality = [], []
        for build in builders:
            data = build()
            datasets.append(data)
            progress.set_postfix_str(f"{data.name}: reference")
            frozen = _downstream().fit(data.X_train, data.y_train)
            quality.append(reference_row(data, frozen, cfg["cv"]))
            for c in contenders:
                progress.set_postfix_str(f"{data.name}: {c.name}")
                quality.append(run_quality(data, c, frozen, memory, cfg["cv"]))
                progress.update()

        n_times, n_peaks = run_scaling(
            contenders,
            n_grid,
            lambda n: scaling_data(n, cfg["n_grid_d"], args.seed + 10),
            1.0,
            budget,
            memory,
            progress,
            cfg["repeat"],
        )
        d_times, d_peaks = run_scaling(
            contenders,
            d_grid,
            lambda d: scaling_data(cfg["d_grid_n"], d, args.seed + 11),
            2.0,
            budget,
            memory,
            progress,
            cfg["repeat"],
        )
    finally:
        progress.close()
        limit.restore_original_limits()
        if torch is not None:
            torch.set_num_threads(torch_threads)

    scaling = [("n", n_times), ("d", d_times)]
    grids = [
        (f"n (samples), d = {cfg['n_grid_d']}", n_grid),
        (f"d (features), n = {cfg['d_grid_n']}", d_grid),
    ]
    plots = plot_all(out, datasets, quality, contenders, scaling, grids)
    elapsed = time.perf_counter() - t0

    lines = header(args, started, elapsed, load_before, blas)
    lines += ["## Erasure, damage and cost", ""] + legend_lines()
    for data in datasets:
        rows = [r for r in quality if r["dataset"] == data.name]
        lines += quality_table(data, rows, contenders) + [""]
    lines += [
        "## Scaling",
        "",
        f"Synthetic data with a binary concept. A contender is skipped at the "
        f"larger sizes once its predicted time (previous time times the size "
        f"ratio, squared for d) exceeds {budget:g} s. Best of three runs below "
        "0.5 s.",
        "",
    ]
    lines += scaling_table(
        f"Fit + transform time (s) against n, d = {cfg['n_grid_d']}",
        1.0,
        n_times,
        n_grid,
        "n",
    ) + [""]
    lines += scaling_table(
        f"Fit + transform time (s) against d, n = {cfg['d_grid_n']}",
        1.0,
        d_times,
        d_grid,
        "d",
    ) + [""]
    lines += scaling_table(
        f"Peak memory (MiB) against n, d = {cfg['n_grid_d']}", MiB, n_peaks, n_grid, "n"
    ) + [""]
    lines += scaling_table(
        f"Peak memory (MiB) against d, n = {cfg['d_grid_n']}", MiB, d_peaks, d_grid, "d"
    ) + [""]
    lines += expectations(datasets, quality, contenders, scaling) + [""]
    lines += ["Plots: " + ", ".join(p.name for p in plots)]
    out["markdown"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out['markdown']} and {len(plots)} plots in {elapsed / 60:.1f} min")
    return {
        "datasets": datasets,
        "quality": quality,
        "contenders": [c.name for c in contenders],
        "scaling": dict(scaling),
        "markdown": out["markdown"],
        "plots": plots,
        "elapsed": elapsed,
    }


if __name__ == "__main__":
    main()
