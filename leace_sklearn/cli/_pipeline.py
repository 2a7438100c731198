"""The fitted object the tool saves: column encoding followed by the eraser.

Each feature column gets its own entry in a
:class:`~sklearn.compose.ColumnTransformer`, so that the output keeps the
columns in their input order: a numeric column passes through, a
categorical one becomes one 0/1 column per level.
"""

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .._transformer import LeaceTransformer


def build_pipeline(
    features, categorical, *, method="leace", alpha=1.0, min_frequency=None
):
    """Unfitted ``Pipeline([("encode", ...), ("erase", LeaceTransformer)])``.

    Parameters
    ----------
    features : list of str or list of int
        The feature columns in order: names for a DataFrame, positions for
        an array.

    categorical : list of str or list of int
        The entries of ``features`` to one-hot encode.

    method : {"leace", "orth"}, default="leace"
        Passed to :class:`~leace_sklearn.LeaceTransformer`.

    alpha : float, default=1.0
        Passed to :class:`~leace_sklearn.LeaceTransformer`.

    min_frequency : int, default=None
        Levels of a categorical column seen in fewer rows are merged into one
        column named ``<column>_infrequent_sklearn``; None keeps every level.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Fit it with ``fit(X, erase__concept=z)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"], [5.0, "b"]], dtype=object)
    >>> z = np.array([0, 1, 0, 1])
    >>> pipe = build_pipeline([0, 1], [1]).fit(X, erase__concept=z)
    >>> pipe.transform(X).shape
    (4, 3)
    """
    categorical = set(categorical)
    encoders = [
        (
            f"column{i}",
            _encoder(min_frequency) if col in categorical else "passthrough",
            [col],
        )
        for i, col in enumerate(features)
    ]
    encode = ColumnTransformer(
        encoders,
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [("encode", encode), ("erase", LeaceTransformer(method=method, alpha=alpha))]
    )


def _encoder(min_frequency):
    # "warn": a level unseen at fit time, met in new rows, goes to the merged
    # column of rare levels if there is one (else to all zeros), with a
    # warning rather than stopping the transform.
    return OneHotEncoder(
        handle_unknown="warn", min_frequency=min_frequency, sparse_output=False
    )


def output_names(pipeline, names):
    """Names of the erased columns, grouped by the feature they come from.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A pipeline from :func:`build_pipeline`, fitted.

    names : list of str
        Display name of each feature, in the order given to
        :func:`build_pipeline`.

    Returns
    -------
    groups : list of list of str
        For each feature, the names of its output columns: ``[name]`` for a
        numeric feature, ``[f"{name}_{level}", ...]`` for a categorical one
        (``f"{name}_infrequent_sklearn"`` for merged rare levels).
    """
    encode = pipeline.named_steps["encode"]
    groups = []
    for (key, _, _), name in zip(encode.transformers, names, strict=True):
        fitted = encode.named_transformers_[key]
        if isinstance(fitted, OneHotEncoder):
            groups.append(list(fitted.get_feature_names_out([name])))
        else:
            groups.append([name])
    return groups
