"""Validation shared by the metrics: the feature matrix and a 1-D concept."""

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array

from .._concept import CATEGORICAL, ConceptEncoder, _columns, _unique


def check_features(X):
    """``X`` as a 2-D float array or CSR matrix; errors name ``X``."""
    if not sparse.issparse(X) and getattr(X, "shape", None) is None:
        X = np.asarray(X)
    if len(X.shape) != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}."
        )
    try:
        return check_array(
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            input_name="X",
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"invalid X: {exc}") from None


def check_concept_1d(concept, n_samples=None):
    """Validate a 1-D concept (or a single column) against ``n_samples`` rows.

    ``n_samples=None`` accepts any length.

    Returns
    -------
    kind : {"numeric", "categorical"}
        The encoding rule of ``LeaceTransformer``: floating is numeric,
        anything else categorical.
    target : ndarray of shape (n_samples,)
        float64 values for a numeric concept, integer codes (positions in
        ``classes``) for a categorical one.
    classes : ndarray or None
        Sorted classes of a categorical concept.
    """
    columns, ndim = _columns(concept)
    if ndim == 2 and len(columns) != 1:
        raise ValueError(
            f"concept must be 1-D (or a single column), got {len(columns)} "
            "columns; probe each attribute separately, or combine them into "
            "one label (e.g. joined strings) to probe their intersection."
        )
    values = columns[0]
    if n_samples is None:
        n_samples = values.shape[0]
    if values.shape[0] == 0:
        raise ValueError("concept is empty: it needs at least one value.")
    encoder, _, _ = ConceptEncoder().update(values, n_samples)
    if encoder.kinds[0] == CATEGORICAL:
        classes, codes = _unique(values)
        return CATEGORICAL, codes, classes
    return encoder.kinds[0], values.astype(np.float64, copy=False), None
