"""Quick-start demo behind ``python -m leace_sklearn``.

Erases ``sex`` (or ``race``) from the bundled UCI Adult data and prints how
well a linear probe recovers the concept before and after erasure, how far
the data moved, and what erasure costs a model that predicts income. Only
NumPy, SciPy and scikit-learn are needed; pandas is not.
"""

import argparse
import contextlib
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._transformer import LeaceTransformer
from .datasets import load_adult

CONCEPTS = ("sex", "race")
N_FOLDS = 5
# The rarest race group ("Other") is 0.8% of the rows; 1000 rows give it
# about 8 members, enough for each of the 5 stratified folds to hold one.
# With fewer, a held-out fold can lack the class a constant probe predicts,
# and the after-erasure CV score drops to 0 rather than chance.
MIN_ROWS = 1000
CITATION = (
    "Data: Becker & Kohavi (1996), Adult, UCI Machine Learning Repository, "
    "doi:10.24432/C5XW20, CC BY 4.0"
)
# The step name make_pipeline gives LeaceTransformer; cross_val_score routes
# the concept to it under this prefix.
_ERASER_STEP = "leacetransformer"


def _row_count(text):
    """Parse ``--max-rows``; argparse turns its errors into exit code 2."""
    value = int(text)
    if value < MIN_ROWS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_ROWS}, got {value}")
    return value


def _build_parser():
    """Command-line parser of the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m leace_sklearn",
        description=(
            "Quick-start demo: erase a protected attribute from the UCI Adult "
            "data with LEACE and show that a linear probe can no longer "
            "recover it, how little the data moved, and the cost for income "
            "prediction."
        ),
    )
    parser.add_argument(
        "--concept",
        choices=CONCEPTS,
        default="sex",
        help="column of the Adult data to erase (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the row subsample and the CV folds (default: %(default)s)",
    )
    parser.add_argument(
        "--max-rows",
        type=_row_count,
        default=None,
        metavar="N",
        help=(
            "use a random subset of N training rows instead of all 32561, "
            f"for a faster run (at least {MIN_ROWS})"
        ),
    )
    return parser


def _load(concept, max_rows, seed):
    """Features, concept and income of the Adult training rows.

    Returns
    -------
    X : ndarray of shape (n_samples, 13), dtype object
        The 14 Adult columns minus the concept column.
    z : ndarray of shape (n_samples,), dtype object
        The concept (strings).
    income : ndarray of shape (n_samples,), dtype object
        ``"<=50K"`` or ``">50K"``.
    numeric : list of int
        Positions in ``X`` of the numeric columns.
    categorical : list of int
        Positions in ``X`` of the categorical columns.
    """
    adult = load_adult(subset="train", as_frame=False)
    data, income = adult.data, adult.target
    if max_rows is not None and max_rows < data.shape[0]:
        rng = np.random.default_rng(seed)
        # Sorted, so the subset keeps the file's order like the full data.
        rows = np.sort(rng.choice(data.shape[0], size=max_rows, replace=False))
        data, income = data[rows], income[rows]

    names = adult.feature_names
    j = names.index(concept)
    # The concept column itself must go: erasure removes linear traces of it
    # from the other features, and cannot be asked to hide an explicit copy.
    keep = [i for i in range(len(names)) if i != j]
    kept_names = [names[i] for i in keep]
    numeric = [k for k, n in enumerate(kept_names) if n in adult.numeric_features]
    categorical = [
        k for k, n in enumerate(kept_names) if n in adult.categorical_features
    ]
    return data[:, keep], data[:, j], income, numeric, categorical


def _preprocessor(numeric, categorical):
    """Standardise the numeric columns and one-hot encode the others."""
    one_hot = make_pipeline(
        # A missing value says something (e.g. no occupation given), so it
        # gets a column of its own under a readable name rather than None.
        SimpleImputer(missing_values=None, strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("categorical", one_hot, categorical)]
    )


def _probe():
    """Linear probe that tries to recover the concept."""
    # Balanced class weights keep the probe from scoring above chance just by
    # favouring the majority group, and make 1 / n_classes the chance level.
    # lbfgs (the default) starts from zero weights and stops there when the
    # gradient vanishes, as it does after erasure, so the probe is exactly
    # constant. A solver that steps anyway (newton-cholesky) lands on weights
    # of rounding-error size whose signs split the rows arbitrarily and scored
    # 0.52-0.54 instead of 0.50 for sex.
    return LogisticRegression(class_weight="balanced", max_iter=1000)


def _income_model():
    """Model of the downstream task whose accuracy erasure may cost."""
    return LogisticRegression(max_iter=1000)


def _cv_score(model, X, y, cv, scoring, concept=None):
    """Mean score over the folds of ``cv``.

    With ``concept`` the model is preceded by a fresh ``LeaceTransformer``
    fitted on each training fold only, so held-out rows are erased by an
    eraser that never saw them, as new data would be.
    """
    params = None
    if concept is not None:
        model = make_pipeline(LeaceTransformer(), model)
        # Without this the eraser would take y as its concept and erase the
        # label being predicted.
        params = {f"{_ERASER_STEP}__concept": concept}
    scores = cross_val_score(model, X, y, cv=cv, scoring=scoring, params=params)
    return float(np.mean(scores))


def _few_blas_threads():
    """Context limiting BLAS to one thread, if threadpoolctl is installed.

    The matrices here (at most 32561 x ~100) are too small for BLAS threads
    to pay off, and on a busy 2-core machine their spinning made the demo
    twice as slow (62 s instead of 27 s). threadpoolctl comes with
    scikit-learn, but the demo does not insist on it.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _in_sample_balanced_accuracy(X, z):
    """Balanced accuracy of the probe on the rows it was fitted to."""
    probe = _probe().fit(X, z)
    return float(balanced_accuracy_score(z, probe.predict(X)))


def _relative_rms_displacement(X, X_erased):
    """``sqrt(mean ||x' - x||^2) / sqrt(mean ||x - mean(x)||^2)``.

    Dividing by the data's own spread makes the number independent of its
    overall scale: 0.1 means the edit is a tenth of the typical distance of
    a row from the centre.
    """
    moved = np.sqrt(np.mean(np.sum((X_erased - X) ** 2, axis=1)))
    spread = np.sqrt(np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1)))
    return float(moved / spread)


def _max_mean_change(X, X_erased):
    """Largest absolute change of a column mean (0 up to rounding for LEACE)."""
    return float(np.max(np.abs(X_erased.mean(axis=0) - X.mean(axis=0))))


def _table_row(label, before, after, fmt=".3f", ref=None):
    """One ``label  before B  after A  [name R]`` line of the report.

    Every number is preceded by its own key so that the report can be parsed
    with a regular expression and read without a header.
    """
    line = f"  {label:<38}before {before:{fmt}}  after {after:{fmt}}"
    if ref is not None:
        name, value = ref
        line += f"  {name} {value:{fmt}}"
    return line


def main(argv=None):
    """Run the quick-start demo and print its report.

    Loads the Adult training data, encodes every column except the concept
    (numeric ones standardised, categorical ones one-hot encoded with missing
    values as a category of their own), erases the concept with
    :class:`~leace_sklearn.LeaceTransformer` and compares, before and after
    erasure:

    * the balanced accuracy of a class-balanced logistic-regression probe
      predicting the concept, 5-fold cross-validated (the eraser refitted on
      each training fold) and in-sample (the eraser and the probe fitted on
      all rows, where LEACE guarantees chance level);
    * how far the data moved, relative to its spread, and the largest change
      of a feature's mean (LEACE keeps the mean);
    * the 5-fold cross-validated accuracy of a logistic regression predicting
      income, the price paid for the erasure.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name; None reads
        ``sys.argv[1:]``. ``--concept {sex,race}`` picks the column to erase
        (default ``sex``), ``--seed`` seeds the row subsample and the CV
        folds (default 0), ``--max-rows N`` uses a random subset of ``N``
        rows instead of all 32561.

    Returns
    -------
    status : int
        0 on success. Invalid arguments raise :class:`SystemExit` with code
        2, as usual for argparse.

    Examples
    --------
    From a shell: ``python -m leace_sklearn --concept race``. From Python:

    >>> from leace_sklearn._demo import main
    >>> main(["--max-rows", "2000"])  # doctest: +SKIP
    """
    args = _build_parser().parse_args(argv)
    start = time.perf_counter()
    with _few_blas_threads():
        lines = _report(args.concept, args.seed, args.max_rows)
    lines += [f"finished in {time.perf_counter() - start:.1f} s", CITATION]
    print("\n".join(lines))
    return 0


def _report(concept, seed, max_rows):
    """Fit everything and return the report's lines (see :func:`main`)."""
    X_raw, z, income, numeric, categorical = _load(concept, max_rows, seed)
    # Standardising and one-hot encoding once, on all rows, leaks next to
    # nothing into the CV folds and keeps the demo short.
    X = _preprocessor(numeric, categorical).fit_transform(X_raw)
    n_samples, n_features = X.shape

    eraser = LeaceTransformer().fit(X, concept=z)
    X_erased = eraser.transform(X)

    classes, counts = np.unique(z, return_counts=True)
    chance = 1.0 / len(classes)
    majority = float(np.mean(income == ">50K"))
    majority = max(majority, 1.0 - majority)

    # A splitter with an integer seed yields the same folds on every call, so
    # before and after are scored on identical splits.
    cv = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    probe_cv = (
        _cv_score(_probe(), X, z, cv, "balanced_accuracy"),
        _cv_score(_probe(), X, z, cv, "balanced_accuracy", concept=z),
    )
    probe_in = (
        _in_sample_balanced_accuracy(X, z),
        _in_sample_balanced_accuracy(X_erased, z),
    )
    income_cv = (
        _cv_score(_income_model(), X, income, cv, "accuracy"),
        _cv_score(_income_model(), X, income, cv, "accuracy", concept=z),
    )

    counts_text = ", ".join(f"{c} {n}" for c, n in zip(classes, counts, strict=True))
    return [
        f'LEACE quick start: erasing "{concept}" from the UCI Adult training data',
        f"rows        {n_samples}",
        f"features    {n_features} ({len(numeric)} numeric standardised + "
        f"{n_features - len(numeric)} one-hot from {len(categorical)} "
        f'categorical; "{concept}" left out)',
        f"concept     {concept}: {len(classes)} classes: {counts_text}",
        f"rank        {eraser.rank_} (directions the eraser edits)",
        "",
        f"before/after erasure (the {N_FOLDS}-fold CV refits the eraser on each "
        "training fold):",
        _table_row(
            f"probe balanced accuracy ({N_FOLDS}-fold CV)",
            *probe_cv,
            ref=("chance", chance),
        ),
        _table_row(
            "probe balanced accuracy (in-sample)", *probe_in, ref=("chance", chance)
        ),
        _table_row(
            f"income accuracy ({N_FOLDS}-fold CV)",
            *income_cv,
            ref=("majority", majority),
        ),
        _table_row(
            "relative RMS displacement", 0.0, _relative_rms_displacement(X, X_erased)
        ),
        _table_row(
            "max |change of feature mean|",
            0.0,
            _max_mean_change(X, X_erased),
            fmt=".1e",
        ),
        "",
        f"probe: LogisticRegression(class_weight='balanced') predicting {concept}.",
        "On the rows the eraser was fitted to, LEACE makes the best linear probe",
        "a constant, so its in-sample score after erasure is exactly chance.",
    ]
