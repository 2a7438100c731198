"""The before/after report: leakage of the concept, and how far data moved.

Every number is computed from two float arrays, the encoded features before
erasure and after, so the report needs NumPy only (not pandas). Each
before/after line reads ``label  before B  after A  [chance C]``, so that it
can be read without a header and parsed with a regular expression.
"""

import numpy as np

from ..metrics import chance_level, cross_covariance_score, linear_probe_score

_SHOWN_CLASSES = 8
# A 0/1 column with fewer ones than this is the indicator of a rare level.
RARE_ROWS = 10


def before_after(label, before, after, *, fmt=".3f", ref=None):
    """One ``label  before B  after A  [name R]`` line.

    Examples
    --------
    >>> before_after("probe", 0.8512, 0.5, ref=("chance", 0.5)).split()
    ['probe', 'before', '0.851', 'after', '0.500', 'chance', '0.500']
    """
    line = f"  {label:<42}before {before:{fmt}}  after {after:{fmt}}"
    if ref is not None:
        line += f"  {ref[0]} {ref[1]:{fmt}}"
    return line


def _value(label, value, note=""):
    return f"  {label:<42}{value}{'  ' + note if note else ''}"


def _scale(X):
    """Mean and std of each column; a constant column gets std 1."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def describe_concept(values):
    """``"2 classes: a 3, b 5"`` or ``"numeric, mean 1.5, std 0.5"``.

    Examples
    --------
    >>> describe_concept(np.array(["b", "a", "b"], dtype=object))
    '2 classes: a 1, b 2'
    >>> describe_concept(np.array([1.0, 2.0]))
    'numeric, mean 1.5, std 0.5'
    """
    values = np.asarray(values)
    if not is_categorical(values):
        return f"numeric, mean {values.mean():.4g}, std {values.std():.4g}"
    classes, codes = np.unique(values, return_inverse=True)
    counts = np.bincount(codes, minlength=len(classes))
    shown = [f"{c} {n}" for c, n in zip(classes, counts, strict=True)]
    if len(shown) > _SHOWN_CLASSES:
        rest = len(shown) - _SHOWN_CLASSES
        shown = shown[:_SHOWN_CLASSES] + [f"and {rest} more"]
    return f"{len(classes)} classes: {', '.join(shown)}"


def group_mean_gaps(X, values, std):
    """For each column, the largest gap between two class means, in stds.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.

    values : ndarray of shape (n_samples,)
        A categorical concept.

    std : ndarray of shape (n_features,)
        Unit of each column.

    Returns
    -------
    gaps : ndarray of shape (n_features,)
        ``(max_g mean_g - min_g mean_g) / std`` of each column.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 3.0], [6.0, 3.0]])
    >>> group_mean_gaps(X, np.array(["a", "a", "b", "b"]), np.array([2.0, 1.0]))
    array([2., 2.])
    """
    classes, codes = np.unique(values, return_inverse=True)
    indicator = np.zeros((len(codes), len(classes)))
    indicator[np.arange(len(codes)), codes] = 1.0
    means = (indicator.T @ X) / indicator.sum(axis=0)[:, None]
    return np.ptp(means, axis=0) / std


def _probe_line(X, X_erased, values, cv, seed):
    score = "balanced accuracy" if is_categorical(values) else "R^2"
    label = f"probe {score} ({cv}-fold CV)"
    try:
        before = linear_probe_score(X, values, cv=cv, random_state=seed)
        after = linear_probe_score(X_erased, values, cv=cv, random_state=seed)
    except ValueError as exc:
        return _value(label, f"not computed: {exc}")
    return before_after(label, before, after, ref=("chance", chance_level(values)))


def is_categorical(values):
    """Whether a concept column is one-hot encoded: any dtype but floating.

    This is the rule of :class:`~leace_sklearn.LeaceTransformer`.
    """
    return np.asarray(values).dtype.kind != "f"


def concept_lines(X, X_erased, names, concept, values, *, cv=5, seed=0):
    """Report lines on how much of one concept column each array reveals.

    Parameters
    ----------
    X, X_erased : ndarray of shape (n_samples, n_features)
        Encoded features before and after erasure.

    names : list of str
        Name of each column of ``X``.

    concept : str
        Name of the concept column.

    values : ndarray of shape (n_samples,)
        Its values: floating is numeric, anything else categorical.

    cv : int, default=5
        Folds of the probe.

    seed : int, default=0
        Seed of the probe's folds.

    Returns
    -------
    lines : list of str
    """
    lines = [
        f'leakage of "{concept}" before/after erasure:',
        _probe_line(X, X_erased, values, cv, seed),
        before_after(
            "max |correlation| feature vs concept",
            cross_covariance_score(X, values),
            cross_covariance_score(X_erased, values),
        ),
    ]
    if is_categorical(values):
        _, std = _scale(X)
        before = group_mean_gaps(X, values, std)
        after = group_mean_gaps(X_erased, values, std)
        lines += [
            before_after(
                "largest gap of group means (feature stds)",
                float(np.max(before)),
                float(np.max(after)),
            ),
            _value("  widest before in", names[int(np.argmax(before))]),
        ]
    return lines


def movement_lines(X, X_erased, names):
    """Report lines on how far erasure moved the data, in units of each std.

    Parameters
    ----------
    X, X_erased : ndarray of shape (n_samples, n_features)
        Encoded features before and after erasure.

    names : list of str
        Name of each column.

    Returns
    -------
    lines : list of str
        The relative RMS displacement ``||D|| / ||(X - mean) / std||``
        (Frobenius norms, ``D = (X_erased - X) / std``), the largest RMS
        change of one column and the largest change of a column mean, all
        with each column measured in its own standard deviation.
    """
    mean, std = _scale(X)
    moved = (X_erased - X) / std
    spread = np.sqrt(np.sum(((X - mean) / std) ** 2))
    per_column = np.sqrt(np.mean(moved**2, axis=0))
    top = int(np.argmax(per_column))
    shift = np.max(np.abs(moved.mean(axis=0)))
    relative = np.sqrt(np.sum(moved**2)) / spread if spread > 0 else 0.0
    return [
        "how far the data moved (each column in units of its std):",
        _value("relative RMS displacement", f"{relative:.3f}"),
        _value(
            "largest RMS change of one column", f"{per_column[top]:.3f}", names[top]
        ),
        _value("largest change of a column mean", f"{shift:.1e}"),
    ]


def summary_lines(
    title,
    *,
    n_rows,
    features,
    categorical,
    n_out,
    concepts,
    eraser,
    kept_out=None,
    min_frequency=None,
):
    """The report's header: what was erased from what, and with what.

    Parameters
    ----------
    title : str
        First line.

    n_rows : int
        Number of rows.

    features, categorical : list of str
        Names of the feature columns, and of the categorical ones among them.

    n_out : int
        Number of columns after one-hot encoding.

    concepts : list of (str, ndarray)
        Name and values of each concept column.

    eraser : LeaceTransformer
        The fitted eraser.

    kept_out : str, default=None
        The columns kept out of erasure, and what became of them.

    min_frequency : int, default=None
        Levels seen in fewer rows were merged into one column.

    Returns
    -------
    lines : list of str
    """
    n_cat = len(categorical)
    merged = ""
    if min_frequency is not None and min_frequency > 1 and n_cat:
        merged = f"; levels in fewer than {min_frequency} rows merged"
    lines = [
        title,
        f"rows        {n_rows}",
        f"features    {len(features)} columns: {len(features) - n_cat} numeric, "
        f"{n_cat} categorical",
        f"encoded     {n_out} columns (categorical ones one-hot encoded{merged})",
    ]
    if kept_out:
        lines.append(f"kept out    {kept_out}")
    lines += [f"concept     {name}: {describe_concept(v)}" for name, v in concepts]
    lines.append(
        f"eraser      method {eraser.method}, alpha {eraser.alpha:g}, "
        f"rank {eraser.rank_} (directions edited)"
    )
    return lines


def note_lines(X, min_frequency=None, alpha=1.0):
    """What the probe and correlation rows mean, and a hint on rare levels.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Encoded features before erasure; a 0/1 column with fewer than 10
        ones counts as the indicator of a rare level.

    min_frequency : int, default=None
        The ``--min-frequency`` used; the hint on rare levels is given only
        when it is None or below 10.

    alpha : float, default=1.0
        The ``--alpha`` used; below 1 the correlations are only reduced.

    Returns
    -------
    lines : list of str
    """
    if alpha < 1:
        lines = [
            f"With --alpha {alpha:g}, only that fraction of the edit is applied:",
            "the correlations are reduced, not made zero, and a linear model can",
            "still beat a constant. Use --alpha 1 (the default) to erase fully.",
        ]
    else:
        lines = [
            "Correlations are measured on the rows the eraser was fitted to: LEACE",
            "makes them zero there, so no linear model fitted to all rows beats a",
            "constant.",
        ]
    lines += [
        "The probe is trained on some rows and scored on the others; after",
        "erasure it lands near chance, not on it: the small group differences",
        "left in its training rows are reversed in the held-out rows (over all",
        "rows they cancel), which can even put it below chance.",
    ]
    if min_frequency is not None and min_frequency >= RARE_ROWS:
        return lines
    binary = np.all((X == 0) | (X == 1), axis=0)
    rare = int(np.sum(binary & (np.sum(X == 1, axis=0) < RARE_ROWS)))
    if rare:
        lines += [
            f"{rare} 0/1 column(s) have fewer than {RARE_ROWS} ones. Through such",
            "columns a probe can learn the erased concept on some rows and apply",
            "it to others; merging rare levels (--min-frequency "
            f"{RARE_ROWS}, the default) usually helps.",
        ]
    return lines
