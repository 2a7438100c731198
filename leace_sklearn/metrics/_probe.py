"""How well a linear probe recovers a concept, and what a constant one scores."""

import warnings
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._concept import CATEGORICAL, NUMERIC
from ._validation import check_concept_1d, check_features

_SCORINGS = {CATEGORICAL: ("balanced_accuracy", "roc_auc"), NUMERIC: ("r2",)}


def _check_scoring(scoring, kind):
    """The scoring name for a concept of this kind (default: the first)."""
    if scoring is None:
        return _SCORINGS[kind][0]
    every = _SCORINGS[CATEGORICAL] + _SCORINGS[NUMERIC]
    if not isinstance(scoring, str) or scoring not in every:
        raise ValueError(
            f"scoring must be None or one of {list(every)}, got {scoring!r}."
        )
    if scoring not in _SCORINGS[kind]:
        other = NUMERIC if kind == CATEGORICAL else CATEGORICAL
        raise ValueError(
            f"scoring={scoring!r} needs a {other} concept, but concept is {kind} "
            "(floating dtypes are numeric, every other dtype categorical); use "
            f"one of {list(_SCORINGS[kind])}."
        )
    return scoring


def _check_classes(codes, classes):
    """Counts of each class; a probe needs two classes of two members."""
    n_classes = len(classes)
    if n_classes < 2:
        raise ValueError(
            "concept has a single class; there is nothing for a probe to predict."
        )
    counts = np.bincount(codes, minlength=n_classes)
    if counts.min() < 2:
        raise ValueError(
            f"concept class {classes.tolist()[int(np.argmin(counts))]!r} has a "
            "single member; a cross-validated probe needs at least two members "
            "of every class. Drop that row or merge rare classes."
        )
    return counts


def _splitter(cv, kind, n_samples, counts, random_state):
    """The folds: stratified for a categorical concept, fewer if classes are rare."""
    if not (isinstance(cv, Integral) and not isinstance(cv, bool)):
        if hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
            return cv
        raise TypeError(
            f"cv must be an int >= 2 or a cross-validation splitter, got {cv!r}."
        )
    if cv < 2:
        raise ValueError(f"cv must be at least 2, got {cv}.")
    available = n_samples if counts is None else int(counts.min())
    n_splits = int(cv)
    if available < n_splits:
        what = "samples" if counts is None else "members in its rarest class"
        warnings.warn(
            f"concept has only {available} {what}, fewer than cv={cv}; "
            f"using {available} folds.",
            UserWarning,
            stacklevel=3,
        )
        n_splits = available
    if kind == CATEGORICAL:
        return StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    return KFold(n_splits, shuffle=True, random_state=random_state)


def _probe(kind, is_sparse):
    """The probe: standardized features, then a linear model."""
    # Sparse input cannot be centred without densifying it; the intercept
    # absorbs the mean, and scaling alone is what helps the solver converge.
    scaler = StandardScaler(with_mean=not is_sparse)
    if kind == NUMERIC:
        return make_pipeline(scaler, Ridge(alpha=1.0))
    # lbfgs from zero weights stays at zero when the gradient vanishes, as it
    # does on data the eraser was fitted to, so the probe is then exactly
    # constant; on standardized data it converges well within max_iter.
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    return make_pipeline(scaler, model)


def linear_probe_score(X, concept, *, scoring=None, cv=5, random_state=0, n_jobs=None):
    """Cross-validated score of a linear probe that predicts the concept from X.

    The probe standardizes the features and fits a linear model on each
    training fold; its mean score on the held-out folds says how much of the
    concept a linear model can recover from ``X``. Compare it with
    :func:`chance_level`, the score of a probe that ignores ``X``.

    The concept is read with the rule of
    :class:`~leace_sklearn.LeaceTransformer`: a floating concept is numeric,
    any other dtype (integers, bools, strings, categoricals) categorical.

    - Categorical: logistic regression with ``class_weight="balanced"`` and
      stratified folds. Balanced weights keep the probe from beating chance
      just by favouring the majority class.
    - Numeric: ridge regression (``alpha=1``) and shuffled folds.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The representation to probe.

    concept : array-like of shape (n_samples,)
        The concept, for example a protected attribute. A single column
        (shape ``(n_samples, 1)`` or a one-column DataFrame) is accepted too.

    scoring : {"balanced_accuracy", "roc_auc", "r2"}, default=None
        Score of the probe. None means ``"balanced_accuracy"`` for a
        categorical concept and ``"r2"`` for a numeric one. ``"roc_auc"``
        (categorical only) is the one-vs-rest macro average for more than two
        classes.

    cv : int or cross-validation splitter, default=5
        Number of folds, or a splitter such as
        :class:`~sklearn.model_selection.StratifiedKFold`. With an int, the
        rows are shuffled with ``random_state``; if the rarest class has
        fewer members than ``cv``, that many folds are used instead and a
        warning is issued.

    random_state : int, RandomState instance or None, default=0
        Seed of the shuffling of the folds (ignored when ``cv`` is a
        splitter).

    n_jobs : int, default=None
        Number of folds fitted in parallel, as in
        :func:`~sklearn.model_selection.cross_val_score`.

    Returns
    -------
    score : float
        Mean score over the held-out folds. Higher means more of the concept
        is linearly recoverable.

    Raises
    ------
    ValueError
        If the concept has a single class, a class with a single member (a
        cross-validated probe needs two), is constant while numeric, or
        contains missing values, or if ``scoring`` does not fit the concept.

    See Also
    --------
    chance_level : Score of a probe that ignores the features.
    cross_covariance_score : The in-sample quantity that LEACE sets to zero.

    Notes
    -----
    LEACE guarantees that no linear model fitted to the *same* rows the
    eraser was fitted to beats a constant. A cross-validated probe fits
    other rows, so after erasure it scores near chance rather than exactly
    at it: the weights it learns fit sampling noise, and thresholding their
    near-zero output still splits the held-out rows in some way. On the rows
    the eraser was fitted to it is often slightly *below* chance (e.g. 0.47
    for sex on all of Adult, lower on a few thousand rows): the group
    differences left in a training fold are, by construction, reversed in
    the held-out fold, since over all rows they cancel.

    The probe sees every column at the same scale. A column that is constant
    on most rows (a one-hot column of a rare category) can carry the erased
    direction on those rows with a tiny amplitude; the standardized probe
    reads it, as any linear model with large enough weights could.

    Examples
    --------
    >>> import numpy as np
    >>> from leace_sklearn import LeaceTransformer
    >>> from leace_sklearn.metrics import chance_level, linear_probe_score
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, size=1000)
    >>> X = rng.normal(size=(1000, 5)) + z[:, None]
    >>> round(linear_probe_score(X, z), 2)
    0.86
    >>> X_erased = LeaceTransformer().fit_transform(X, z)
    >>> score = linear_probe_score(X_erased, z)
    >>> bool(abs(score - chance_level(z)) < 0.05)
    True
    """
    X = check_features(X)
    kind, target, classes = check_concept_1d(concept, X.shape[0])
    scoring = _check_scoring(scoring, kind)
    counts = None
    if kind == CATEGORICAL:
        counts = _check_classes(target, classes)
        if scoring == "roc_auc" and len(classes) > 2:
            scoring = "roc_auc_ovr"
    elif not np.ptp(target) > 0:
        raise ValueError("concept is constant; r2 is undefined for a constant.")
    splitter = _splitter(cv, kind, X.shape[0], counts, random_state)
    scores = cross_val_score(
        _probe(kind, sparse.issparse(X)),
        X,
        target,
        scoring=scoring,
        cv=splitter,
        n_jobs=n_jobs,
        error_score="raise",
    )
    return float(np.mean(scores))


def chance_level(concept, *, scoring=None):
    """Score of a probe that ignores the features, for comparison.

    A constant prediction scores ``1 / n_classes`` in balanced accuracy,
    ``0.5`` in ROC AUC and ``0.0`` in R², whatever the class frequencies;
    so a report can print "0.51 (chance 0.50)".

    Parameters
    ----------
    concept : array-like of shape (n_samples,)
        The concept, as for :func:`linear_probe_score` (floating is numeric,
        any other dtype categorical).

    scoring : {"balanced_accuracy", "roc_auc", "r2"}, default=None
        As for :func:`linear_probe_score`; None picks the same default.

    Returns
    -------
    chance : float
        The chance level of ``scoring``.

    See Also
    --------
    linear_probe_score : The score to compare with.

    Notes
    -----
    Balanced accuracy is the mean of the per-class recalls: a constant
    prediction has recall 1 for one class and 0 for the others. R² of a
    constant equal to the mean is 0; a cross-validated constant (the mean of
    the training folds) scores slightly below 0.

    Examples
    --------
    >>> from leace_sklearn.metrics import chance_level
    >>> chance_level(["a", "b", "c", "a"])
    0.3333333333333333
    >>> chance_level([0, 1, 1, 1], scoring="roc_auc")
    0.5
    >>> chance_level([0.3, 1.2, 2.5])
    0.0
    """
    kind, _, classes = check_concept_1d(concept)
    scoring = _check_scoring(scoring, kind)
    if kind == NUMERIC:
        return 0.0
    if len(classes) < 2:
        raise ValueError(
            "concept has a single class; there is nothing for a probe to predict."
        )
    return 1.0 / len(classes) if scoring == "balanced_accuracy" else 0.5
