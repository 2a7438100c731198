"""Loader for the bundled UCI Adult (Census Income) dataset."""

import csv
import gzip
import sys
from functools import lru_cache
from importlib.resources import files

import numpy as np
from sklearn.utils import Bunch

_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
_FEATURE_NAMES = _COLUMNS[:-1]
_TARGET_NAME = _COLUMNS[-1]
_TARGET_NAMES = ("<=50K", ">50K")
_NUMERIC = frozenset(
    ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
)
_FILES = {"train": "adult.data.gz", "test": "adult.test.gz"}
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

_DESCR = """\
Adult (Census Income) dataset
-----------------------------

Records extracted by Barry Becker from the 1994 US Census database. The usual
task is to predict whether a person earns more than 50K a year (``income``).
In concept-erasure work the protected attributes ``sex`` and ``race`` are the
concepts most often erased.

:Number of rows: 48842 (train: 32561, test: 16281)
:Number of features: 14 (6 numeric, 8 categorical)
:Missing values: in workclass, occupation and native-country
:Target: income, "<=50K" or ">50K"

Citation: Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine
Learning Repository. https://doi.org/10.24432/C5XW20

Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). The raw
files ship unmodified with leace_sklearn; see the NOTICE file next to them.
"""


def _parse_value(value, numeric):
    value = value.strip()
    if value == "?":
        return np.nan if numeric else None
    # Interning shares one str object per distinct level instead of one per
    # cell, which keeps the cached object array several times smaller.
    return float(value) if numeric else sys.intern(value)


@lru_cache(maxsize=len(_FILES))
def _read_split(split):
    """Parse one raw file into read-only object arrays ``(X, y)``.

    The arrays are cached, so they are frozen here and callers get copies.
    """
    numeric = [name in _NUMERIC for name in _FEATURE_NAMES]
    rows, labels = [], []
    path = files(__package__).joinpath("data", _FILES[split])
    with (
        path.open("rb") as raw,
        gzip.open(raw, "rt", encoding="ascii", newline="") as text,
    ):
        for row in csv.reader(text):
            # Skip blank lines and the "|1x3 Cross validator" header of the
            # test file.
            if not row or row[0].startswith("|"):
                continue
            if len(row) != len(_COLUMNS):
                raise ValueError(f"Malformed row in {_FILES[split]}: {row!r}")
            rows.append(
                [_parse_value(v, n) for v, n in zip(row[:-1], numeric, strict=True)]
            )
            # Test labels end with a period (">50K."); train labels do not.
            labels.append(sys.intern(row[-1].strip().rstrip(".")))

    X = np.array(rows, dtype=object)
    y = np.array(labels, dtype=object)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@lru_cache(maxsize=1)
def _category_levels():
    """Sorted levels of each categorical column over train and test together.

    Using the union for every subset gives train and test frames identical
    category dtypes, so encoders fitted on one can be applied to the other.
    """
    X = np.concatenate([_read_split(split)[0] for split in _FILES])
    return {
        name: sorted({v for v in X[:, j] if v is not None})
        for j, name in enumerate(_FEATURE_NAMES)
        if name not in _NUMERIC
    }


def _to_frame(X, y):
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "load_adult(as_frame=True) requires pandas: "
            "pip install 'leace-sklearn[pandas]'"
        ) from exc

    levels = _category_levels()
    columns = {}
    for j, name in enumerate(_FEATURE_NAMES):
        if name in _NUMERIC:
            columns[name] = X[:, j].astype(np.float64)
        else:
            columns[name] = pd.Categorical(X[:, j], categories=levels[name])
    columns[_TARGET_NAME] = pd.Categorical(y, categories=list(_TARGET_NAMES))
    return pd.DataFrame(columns)


def load_adult(*, subset="train", as_frame=False, return_X_y=False):
    """Load the UCI Adult (Census Income) dataset.

    The data ship with the package, so no network access is needed. Each row
    describes one person from the 1994 US Census; the task is to predict
    whether their income exceeds 50K a year. ``sex`` and ``race`` are the
    concepts usually erased in fairness and concept-erasure experiments.

    =================   ==========================================
    Rows                32561 (train), 16281 (test), 48842 (all)
    Features            14: 6 numeric, 8 categorical
    Missing values      workclass, occupation, native-country
    Classes             2: ``"<=50K"``, ``">50K"``
    =================   ==========================================

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load. ``"all"`` is the training rows followed by the
        test rows.

    as_frame : bool, default=False
        If True, return pandas objects: ``data`` is a DataFrame whose numeric
        columns are float64 and whose other columns are ``category`` (missing
        values are NaN), ``target`` is a categorical Series named
        ``"income"``, and ``frame`` holds both. Requires pandas.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 14) or DataFrame
            With ``as_frame=False`` an object array holding floats in the
            numeric columns and str in the categorical ones, with None for
            missing values.
        target : ndarray of shape (n_samples,) or Series
            Income class of each row, ``"<=50K"`` or ``">50K"``.
        frame : DataFrame of shape (n_samples, 15) or None
            ``data`` and ``target`` together; None unless ``as_frame=True``.
        feature_names : list of str
            Names of the 14 feature columns.
        target_names : list of str
            The two classes, ``["<=50K", ">50K"]``.
        numeric_features : list of str
            Names of the numeric feature columns.
        categorical_features : list of str
            Names of the categorical feature columns.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Notes
    -----
    The Adult dataset is licensed under CC BY 4.0
    (https://creativecommons.org/licenses/by/4.0/) and redistributed
    unmodified. Cite it as: Becker, B. & Kohavi, R. (1996). Adult [Dataset].
    UCI Machine Learning Repository. https://doi.org/10.24432/C5XW20

    Parsing uses only the standard library; pandas is needed only for
    ``as_frame=True``. Parsed rows are cached, and every call returns fresh
    copies.

    References
    ----------
    .. [1] Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine
       Learning Repository. https://doi.org/10.24432/C5XW20
    .. [2] Kohavi, R. (1996). Scaling up the accuracy of Naive-Bayes
       classifiers: a decision-tree hybrid. In Proceedings of the Second
       International Conference on Knowledge Discovery and Data Mining.

    Examples
    --------
    >>> from leace_sklearn.datasets import load_adult
    >>> adult = load_adult()
    >>> adult.data.shape
    (32561, 14)
    >>> sex = adult.data[:, adult.feature_names.index("sex")]
    >>> sorted(set(sex))
    ['Female', 'Male']
    >>> X, y = load_adult(subset="test", return_X_y=True)
    >>> X.shape, sorted(set(y))
    ((16281, 14), ['<=50K', '>50K'])
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {sorted(_SUBSETS)}, got {subset!r}.")
    for name, value in (("as_frame", as_frame), ("return_X_y", return_X_y)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}.")

    parts = [_read_split(split) for split in _SUBSETS[subset]]
    # np.concatenate always allocates, so the cached arrays are never exposed.
    X = np.concatenate([part[0] for part in parts])
    y = np.concatenate([part[1] for part in parts])

    frame = None
    if as_frame:
        frame = _to_frame(X, y)
        X = frame[list(_FEATURE_NAMES)]
        y = frame[_TARGET_NAME]

    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=list(_FEATURE_NAMES),
        target_names=list(_TARGET_NAMES),
        numeric_features=[n for n in _FEATURE_NAMES if n in _NUMERIC],
        categorical_features=[n for n in _FEATURE_NAMES if n not in _NUMERIC],
        DESCR=_DESCR,
    )
