"""Quick-start demo behind ``python -m leace_sklearn``.

Erases ``sex`` (or ``race``) from the bundled UCI Adult data and prints how
well a linear probe recovers the concept before and after erasure, how far
the data moved, and what erasure costs a model that predicts income. Only
NumPy, SciPy and scikit-learn are needed; pandas is not.
"""

import argparse
import time

import numpy as np
from sklearn.base import clone
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
# Below this many rows a 5-fold stratified split of ``race`` leaves folds
# without members of its rarer groups, and the numbers are mostly noise.
MIN_ROWS = 100
CITATION = (
    "Data: Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine "
    "Learning Repository. https://doi.org/10.24432/C5XW20 (CC BY 4.0)"
)
# The step name make_pipeline gives LeaceTransformer; cross_val_score routes
# the concept to it under this prefix.
_ERASER_STEP = "leacetransformer"


def _row_count(text):
    """Parse ``--max-rows``; argparse turns the ValueError into exit code 2."""
    value = int(text)
    if value < MIN_ROWS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_ROWS}, got {value}")
    return value


def _build_parser():
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
    # Balanced class weights keep the probe from scoring above chance just by
    # favouring the majority group, and make 1 / n_classes the chance level.
    return LogisticRegression(class_weight="balanced", max_iter=1000)


def _income_model():
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


def _in_sample_balanced_accuracy(X, z):
    probe = clone(_probe()).fit(X, z)
    return float(balanced_accuracy_score(z, probe.predict(X)))


def _relative_rms_displacement(X, X_erased):
    """``sqrt(mean ||x' - x||^2) / sqrt(mean ||x - mean(x)||^2)``.

    Dividing by the data's own spread makes the number independent of the
    feature scaling: 0.1 means the edit is a tenth of the typical distance
    of a row from the centre.
    """
    moved = np.sqrt(np.mean(np.sum((X_erased - X) ** 2, axis=1)))
    spread = np.sqrt(np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1)))
    return float(moved / spread)


def _max_mean_change(X, X_erased):
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

    X_raw, z, income, numeric, categorical = _load(
        args.concept, args.max_rows, args.seed
    )
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

    cv = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=args.seed)
    # The same splitter object with a fixed seed gives the same folds to
    # every call, so before and after are compared on identical splits.
    probe_cv = (
        _cv_score(_probe(), X, z, cv, "balanced_accuracy"),
        _cv_score(_probe(), X, z, cv, "balanced_accuracy", concept=z),
    )
    probe_in = (
        _in_sample_balanced_accuracy(X, z),
        _in_sample_balanced_accuracy(X_erased, z),
    )
    # Income folds are stratified on income, so they differ from the probe's.
    income_cv = (
        _cv_score(_income_model(), X, income, cv, "accuracy"),
        _cv_score(_income_model(), X, income, cv, "accuracy", concept=z),
    )
    moved = _relative_rms_displacement(X, X_erased)
    mean_change = _max_mean_change(X, X_erased)

    n_onehot = n_features - len(numeric)
    group_counts = ", ".join(f"{c} {n}" for c, n in zip(classes, counts, strict=True))
    lines = [
        f'LEACE quick start: erasing "{args.concept}" from the UCI Adult training data',
        f"rows        {n_samples}",
        f"features    {n_features} ({len(numeric)} numeric, standardised; "
        f"{n_onehot} one-hot from {len(categorical)} categorical columns; "
        f'"{args.concept}" itself left out)',
        f"concept     {args.concept}: {len(classes)} classes: {group_counts}",
        f"rank        {eraser.rank_} (directions the eraser edits)",
        "",
        f"before/after erasure ({N_FOLDS}-fold CV refits the eraser on each "
        "training fold):",
        _table_row(
            "probe balanced accuracy (5-fold CV)", *probe_cv, ref=("chance", chance)
        ),
        _table_row(
            "probe balanced accuracy (in-sample)", *probe_in, ref=("chance", chance)
        ),
        _table_row(
            "income accuracy (5-fold CV)", *income_cv, ref=("majority", majority)
        ),
        _table_row("relative RMS displacement", 0.0, moved),
        _table_row("max |change of feature mean|", 0.0, mean_change, fmt=".1e"),
        "",
        "The probe is LogisticRegression(class_weight='balanced') predicting "
        f"{args.concept}; after erasure no linear model does better than "
        "chance on the data the eraser was fitted to.",
        f"finished in {time.perf_counter() - start:.1f} s",
        CITATION,
    ]
    print("\n".join(lines))
    return 0
