"""The largest correlation between a feature and an encoded concept column."""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from .._concept import ConceptEncoder
from .._leace import is_varying
from .._stats import SHIFT_ROWS, chunk_rows, dense_rows
from ._validation import check_features


def _unit(deviations):
    """A positive, finite scale of each column (1 where there is none)."""
    unit = np.max(np.abs(deviations), axis=0, initial=0.0)
    return np.where((unit > 0) & np.isfinite(unit), unit, 1.0)


def _correlations(X, encoded, weights):
    """Weighted correlations of the columns of ``X`` with those of ``Z``.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, d)
        Features, float32 or float64.
    encoded : EncodedConcept
        The encoded concept ``Z`` with ``k`` columns, written chunk by chunk.
    weights : ndarray of shape (n,) or None
        Non-negative sample weights with a positive sum; None means ones.

    Returns
    -------
    corr : ndarray of shape (d, k)
        ``Cov(x_j, z_c) / sqrt(Var(x_j) Var(z_c))``, and 0 where either
        column is constant up to rounding.
    """
    n, d = X.shape
    k = encoded.n_columns
    rows = chunk_rows(d + k, 8, n)
    # Sums are taken about a shift near the mean (that of the first rows), so
    # that a feature far from zero keeps its precision; indicator columns are
    # exact and left unshifted, as in the eraser's statistics.
    head = min(n, SHIFT_ROWS)
    head_x = np.asarray(dense_rows(X, 0, head), dtype=np.float64)
    shift_x = head_x.mean(axis=0)
    shift_z = np.where(encoded.numeric, encoded.head_mean(head), 0.0)
    # Each column is also divided by the spread of its first rows: the
    # correlation does not change, and squares of values near 1e154 or
    # 1e-170 would overflow or underflow (scoring 0, "guarded").
    unit_x = _unit(head_x - shift_x)
    head_z = np.empty((head, k))
    encoded.fill(0, head, head_z, shift_z)
    unit_z = np.where(encoded.numeric, _unit(head_z), 1.0)
    shift_x, shift_z = shift_x / unit_x, shift_z / unit_z
    x_buf = np.empty((rows, d))
    z_buf = np.empty((rows, k))
    total = 0.0
    s_x, s_xx = np.zeros(d), np.zeros(d)
    s_z, s_zz = np.zeros(k), np.zeros(k)
    s_xz = np.zeros((d, k))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        xc, zc = x_buf[: stop - start], z_buf[: stop - start]
        np.divide(dense_rows(X, start, stop), unit_x, out=xc)
        xc -= shift_x
        encoded.fill(start, stop, zc, shift_z * unit_z)
        zc /= unit_z
        w = np.ones(stop - start) if weights is None else weights[start:stop]
        total += float(w.sum())
        wz = zc * w[:, None]
        s_x += w @ xc
        s_xx += np.einsum("i,ij,ij->j", w, xc, xc)
        s_z += wz.sum(axis=0)
        s_zz += np.einsum("ij,ij->j", wz, zc)
        s_xz += xc.T @ wz
    # Co-moments about the weighted means (Chan et al.'s shifted formulas).
    cov = s_xz - np.outer(s_x, s_z) / total
    var_x = s_xx - s_x**2 / total
    var_z = s_zz - s_z**2 / total
    ok_x = is_varying(var_x / total, shift_x + s_x / total)
    ok_z = is_varying(var_z / total, shift_z + s_z / total)
    scale = np.sqrt(np.outer(np.where(ok_x, var_x, 1.0), np.where(ok_z, var_z, 1.0)))
    return np.where(np.outer(ok_x, ok_z), cov / scale, 0.0)


def cross_covariance_score(X, concept, *, sample_weight=None):
    r"""Largest absolute correlation between a feature and the encoded concept.

    A normalized measure of the cross-covariance that LEACE erases: 0 means
    that no feature, and hence no linear combination of features, is
    correlated with the concept on these rows (the data are *linearly
    guarded*), 1 that some feature is an affine function of a concept
    column. After :class:`~leace_sklearn.LeaceTransformer` is fitted to the
    same rows and weights (``alpha=1``), it is zero up to rounding, about
    ``1e-12`` in float64.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The representation to measure, float or convertible to float.

    concept : array-like of shape (n_samples,) or (n_samples, n_attributes)
        The concept, encoded as by :class:`~leace_sklearn.LeaceTransformer`:
        a floating column is one numeric column, any other column is one-hot
        encoded (one indicator column per class). Every column of a 2-D
        concept is encoded and measured.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows in the means and covariances.

    Returns
    -------
    score : float
        ``max |corr(x_j, z_c)|`` over features ``j`` and encoded concept
        columns ``c``, in [0, 1].

    See Also
    --------
    linear_probe_score : Cross-validated accuracy of a linear probe.

    Notes
    -----
    With weights normalized to sum to one, ``Z`` the encoded concept and
    weighted means ``mean(x_j)``, ``mean(z_c)``, the score is

    .. math::

        \max_{j, c} \frac{|\operatorname{Cov}_w(x_j, z_c)|}
        {\sqrt{\operatorname{Var}_w(x_j) \operatorname{Var}_w(z_c)}},
        \qquad \operatorname{Cov}_w(x_j, z_c)
        = \sum_i w_i (x_{ij} - \overline{x}_j)(z_{ic} - \overline{z}_c).

    A pair whose feature or concept column is constant (variance below the
    rounding level of its mean) contributes 0, so a single-class concept
    scores 0. Being scale-free, the score weighs a feature of tiny variance
    like any other: a linear model with large enough weights can read it.

    The features are linearly guarded, that is no linear predictor of the
    concept beats a constant for any convex loss, exactly when the whole
    cross-covariance matrix is zero (Belrose et al., 2023, Theorem 3.1);
    this score checks it entry by entry. It is an in-sample quantity: on
    rows the eraser was not fitted to, it is small but not zero.

    The sums run over chunks of rows in float64 whatever the dtype of ``X``,
    about a shift near the mean, so no ``n_samples x n_samples`` matrix and
    no full-size copy of ``X`` is ever made; a sparse ``X`` is densified one
    chunk at a time (other sparse formats are first converted to CSR).

    References
    ----------
    .. [1] N. Belrose, D. Schneider-Joseph, S. Ravfogel, R. Cotterell,
       E. Raff and S. Biderman, "LEACE: Perfect linear concept erasure in
       closed form", NeurIPS 2023, arXiv:2306.03819.

    Examples
    --------
    >>> import numpy as np
    >>> from leace_sklearn import LeaceTransformer
    >>> from leace_sklearn.metrics import cross_covariance_score
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 3, size=500)
    >>> X = rng.normal(size=(500, 4)) + (z == 1)[:, None]
    >>> round(cross_covariance_score(X, z), 2)
    0.47
    >>> X_erased = LeaceTransformer().fit_transform(X, z)
    >>> bool(cross_covariance_score(X_erased, z) < 1e-10)
    True
    """
    X = check_features(X)
    _, encoded, _ = ConceptEncoder().update(concept, X.shape[0])
    weights = None
    if sample_weight is not None:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not weights.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero; at least one non-zero weight is needed."
            )
    corr = _correlations(X, encoded, weights)
    return float(min(1.0, np.max(np.abs(corr), initial=0.0)))
