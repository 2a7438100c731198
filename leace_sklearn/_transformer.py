"""LeaceTransformer: the scikit-learn layer (validation, tags, parameters)."""

import warnings
from numbers import Integral, Real

import array_api_compat.numpy as xp_numpy
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    assert_all_finite,
    check_array,
    check_is_fitted,
    validate_data,
)

from ._concept import ConceptEncoder
from ._leace import apply_edit, erasure_factors
from ._stats import batch_moments, embed_moments, merge_moments


class LeaceTransformer(TransformerMixin, BaseEstimator):
    """Erase a concept from features with LEACE (least-squares concept erasure).

    Fits the affine map with the least mean squared change to ``X`` after
    which no linear classifier predicts the concept better than a constant:
    the cross-covariance between the output and the (encoded) concept is
    zero. The map is ``x - alpha * P (x - mean_)`` with ``P`` of rank at most
    the number of encoded concept columns, stored as two low-rank factors.

    Read more in the :doc:`user guide </user_guide>` and on the
    :doc:`mathematics page </math>`.

    Parameters
    ----------
    method : {"leace", "orth"}, default="leace"
        ``"leace"`` is the optimal eraser of Belrose et al.: whiten with
        ``Sigma_XX^{-1/2}``, project out the span of the whitened
        cross-covariance, unwhiten. ``"orth"`` is the orthogonal projection
        that removes the column space of ``Sigma_XZ`` without whitening; it
        gives the same guarantee but moves the data more.

    alpha : float in [0, 1], default=1.0
        Fraction of the edit applied: ``X - alpha * edit(X)``. 0 is the
        identity, 1 full erasure (the only value with the guarantee). Tune it
        with ``GridSearchCV`` to trade fairness against accuracy.

    affine : bool, default=True
        If True the map keeps the mean of ``X``. If False the map is linear
        through the origin; the whitening then uses the uncentred second
        moment, the cross-covariance stays centred (so the guarantee holds)
        and the mean of ``X`` may change.

    shrinkage : None, "auto" or float in [0, 1], default=None
        Shrink ``Sigma_XX`` toward ``trace(Sigma_XX) / d * I`` before
        whitening: ``"auto"`` uses the Oracle Approximating Shrinkage
        intensity of Chen et al. (2010), a float is the intensity itself.
        Useful when ``n_samples`` is not much larger than ``n_features``.
        Shrinkage may cost optimality, never the guarantee. Ignored by
        ``method="orth"``.

    tol : float >= 0, default=None
        Relative cutoff: singular values of the whitened cross-covariance
        below ``tol`` times the largest one, and eigenvalues of the feature
        correlation matrix below ``tol`` times the largest one, count as
        zero. None means ``max(n_features, n_concept_columns)`` times the
        float64 machine epsilon, so that weak or rare-group signals are
        erased too.

    concept_columns : list of str or int, default=None
        Columns of ``X`` (names of a DataFrame's columns, or integer
        positions) that hold the concept. They are used as the concept at
        fit time, removed from the output and from
        :meth:`get_feature_names_out`, and ignored at transform time (they
        must still be present, so that ``X`` has ``n_features_in_`` columns).

    copy : bool, default=True
        If False, :meth:`transform` overwrites ``X`` in place when it is a
        C- or F-ordered float32/float64 array and no concept columns are
        dropped; otherwise a new array is returned.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Weighted mean of the erased features (the input columns without the
        concept columns).

    proj_left_ : ndarray of shape (n_features, `rank_`)
        Left factor of the edit.

    proj_right_ : ndarray of shape (`rank_`, n_features)
        Right factor of the edit. ``transform(X)`` is
        ``X - alpha * ((X - mean_) @ proj_right_.T) @ proj_left_.T``
        (without ``- mean_`` when ``affine=False``).

    rank_ : int
        Rank of the edit, at most the number of independent encoded concept
        columns. 0 when there is nothing to erase.

    classes_ : ndarray, list or None
        Classes of the concept: an array for a 1-D categorical concept, a
        list with one entry per column (an array, or None for a numeric
        column) for a 2-D concept, None for a 1-D numeric concept.

    concept_source_ : {"concept_columns", "concept", "y"}
        Where the concept came from.

    n_samples_seen_ : int
        Number of rows seen by ``fit`` / ``partial_fit``.

    n_features_in_ : int
        Number of columns of ``X`` seen during fit, concept columns included.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of ``X``, when ``X`` has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear projection that keeps variance instead
        of removing a concept.

    Notes
    -----
    The concept is taken from ``concept_columns`` if set, else from the
    ``concept`` argument of :meth:`fit`, else from ``y``. A floating concept
    is used as a number; any other dtype (integers, bools, strings,
    categoricals) is one-hot encoded; a 2-D concept erases each column.
    Pass an integer column as float to have it treated as a number.

    Statistics are accumulated in float64 whatever the input dtype, chunk by
    chunk, and merged exactly across :meth:`partial_fit` calls; float32
    input gives float32 output.

    References
    ----------
    .. [1] N. Belrose, D. Schneider-Joseph, S. Ravfogel, R. Cotterell,
       E. Raff and S. Biderman, "LEACE: Perfect linear concept erasure in
       closed form", NeurIPS 2023, arXiv:2306.03819.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import balanced_accuracy_score
    >>> from leace_sklearn import LeaceTransformer
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, size=500)
    >>> X = rng.normal(size=(500, 5)) + 2.0 * z[:, None]
    >>> eraser = LeaceTransformer().fit(X, concept=z)
    >>> X_erased = eraser.transform(X)
    >>> eraser.rank_
    1

    After erasure both classes have the same mean, so a linear probe learns
    nothing and scores at chance:

    >>> bool(np.allclose(X_erased[z == 0].mean(0), X_erased[z == 1].mean(0)))
    True
    >>> probe = LogisticRegression().fit(X_erased, z)
    >>> float(balanced_accuracy_score(z, probe.predict(X_erased)))
    0.5
    """

    _parameter_constraints = {
        "method": [StrOptions({"leace", "orth"})],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "affine": ["boolean"],
        "shrinkage": [None, StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
        "tol": [None, Interval(Real, 0, None, closed="left")],
        "concept_columns": [None, list, tuple, np.ndarray],
        "copy": ["boolean"],
    }

    def __init__(
        self,
        *,
        method="leace",
        alpha=1.0,
        affine=True,
        shrinkage=None,
        tol=None,
        concept_columns=None,
        copy=True,
    ):
        self.method = method
        self.alpha = alpha
        self.affine = affine
        self.shrinkage = shrinkage
        self.tol = tol
        self.concept_columns = concept_columns
        self.copy = copy

    def _reset(self):
        for attr in (
            "n_samples_seen_",
            "_moments",
            "_encoder",
            "mean_",
            "proj_left_",
            "proj_right_",
            "rank_",
            "classes_",
            "concept_source_",
            "n_features_in_",
            "feature_names_in_",
        ):
            if hasattr(self, attr):
                delattr(self, attr)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, concept=None, sample_weight=None):
        """Fit the eraser to ``X`` and the concept.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, `n_features_in_`)
            Features. With ``concept_columns``, these columns hold the
            concept and may have any dtype.

        y : array-like of shape (n_samples,) or (n_samples, n_attributes), \
                default=None
            Used as the concept when neither ``concept_columns`` nor
            ``concept`` is given. In a Pipeline pass the concept instead
            (``leace__concept=...``), or the label itself is erased.

        concept : array-like of shape (n_samples,) or (n_samples, n_attributes), \
                default=None
            The concept to erase; see the Notes of the class for the encoding.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights: an integer weight is equivalent
            to repeating the row.

        Returns
        -------
        self : LeaceTransformer
            The fitted transformer.
        """
        self._reset()
        return self._partial_fit(X, y, concept, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, *, concept=None, sample_weight=None):
        """Update the eraser with one batch of rows.

        Any split of the data into batches gives the same result as
        :meth:`fit` on all of it, including categories first seen in a
        later batch (no ``classes=`` argument is needed).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, `n_features_in_`)
            Features of the batch.

        y : array-like of shape (n_samples,) or (n_samples, n_attributes), \
                default=None
            Used as the concept when neither ``concept_columns`` nor
            ``concept`` is given.

        concept : array-like of shape (n_samples,) or (n_samples, n_attributes), \
                default=None
            The concept values of the batch.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights of the batch.

        Returns
        -------
        self : LeaceTransformer
            The updated transformer.
        """
        return self._partial_fit(X, y, concept, sample_weight)

    def _partial_fit(self, X, y, concept, sample_weight):
        first = not hasattr(self, "n_samples_seen_")
        X_num, raw_concept, source = self._split_concept(X, y, concept, reset=first)
        if not first and source != self.concept_source_:
            raise ValueError(
                f"the concept came from {self.concept_source_!r} in earlier "
                f"batches but from {source!r} in this one; pass it the same way."
            )
        n_samples = X_num.shape[0]
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(
                sample_weight, X_num, dtype=np.float64, ensure_non_negative=True
            )
            # Recent scikit-learn rejects this itself; older versions do not.
            if not weights.sum() > 0:
                raise ValueError(
                    "sample_weight sums to zero; at least one non-zero weight "
                    "is needed."
                )
        encoder = ConceptEncoder() if first else self._encoder
        encoder, encoded, positions = encoder.update(raw_concept, n_samples)
        d = X_num.shape[1]

        previous = None if first else self._moments
        if previous is not None and positions is not None:
            positions = np.concatenate([np.arange(d), d + positions])
            previous = embed_moments(
                xp_numpy, previous, positions, d + encoder.n_columns
            )
        # Non-finite input is diagnosed from the statistics just below.
        with np.errstate(invalid="ignore", over="ignore"):
            batch = batch_moments(
                xp_numpy,
                X_num,
                encoded,
                weights,
                shift=None if previous is None else previous.mean,
            )
        if not np.all(np.isfinite(np.diagonal(batch.comoment))):
            # NaN or inf anywhere in X reaches the Gram diagonal, and an
            # off-diagonal entry is at most the largest diagonal one: only
            # then is X scanned, to say precisely what is wrong.
            assert_all_finite(X_num, input_name="X")
            raise ValueError(
                "the second moments of X overflowed float64: its values are too "
                "large; rescale X (e.g. with StandardScaler) before erasing."
            )
        moments = merge_moments(xp_numpy, previous, batch)
        left, right, keep = self._factors(moments, encoder, d)

        # Nothing is stored until everything has succeeded.
        self._moments, self._encoder = moments, encoder
        self.concept_source_ = source
        self.n_samples_seen_ = moments.n_samples
        self.mean_ = np.asarray(moments.mean[:d], dtype=np.float64)
        self.proj_left_ = np.asarray(left, dtype=np.float64)
        self.proj_right_ = np.asarray(right, dtype=np.float64)
        self.rank_ = int(self.proj_left_.shape[1])
        self.classes_ = encoder.classes_attribute()
        if not keep:
            warnings.warn(
                "The concept has a single class or zero variance: there is "
                "nothing to erase and the transform is the identity.",
                UserWarning,
                stacklevel=4,
            )
        return self

    def _factors(self, moments, encoder, d):
        variance = np.diagonal(moments.comoment)[d:] / moments.weight
        keep = encoder.erased_columns(moments.mean[d:], variance)
        left, right = erasure_factors(
            xp_numpy,
            moments,
            d,
            keep,
            method=self.method,
            affine=self.affine,
            shrinkage=self.shrinkage,
            tol=self.tol,
        )
        return left, right, keep

    def _concept_positions(self, X):
        """Integer positions of ``concept_columns`` in ``X``."""
        names = getattr(X, "columns", None)
        names = None if names is None else [str(c) for c in names]
        return _resolve_columns(self.concept_columns, names, _n_columns(X))

    def _features(self, X, *, reset):
        """Validate X; return the features to erase and the concept columns.

        The concept columns are None unless ``concept_columns`` is set. Values
        are not checked for finiteness here: fit checks the statistics and
        transform each chunk, to avoid an extra pass over X.
        """
        kwargs = dict(dtype=[np.float64, np.float32], ensure_all_finite=False)
        if self.concept_columns is None:
            return validate_data(self, X, reset=reset, copy=False, **kwargs), None
        validate_data(self, X, reset=reset, skip_check_array=True)
        rest, raw = _take_columns(X, self._concept_positions(X))
        return check_array(rest, copy=False, input_name="X", **kwargs), raw

    def _split_concept(self, X, y, concept, *, reset):
        """Validate X; return the features to erase, the concept and its source."""
        X_num, columns = self._features(X, reset=reset)
        if columns is not None:
            if concept is not None:
                raise ValueError(
                    "concept was passed to fit but concept_columns is set; use "
                    "one of the two."
                )
            return X_num, columns, "concept_columns"
        if concept is not None:
            return X_num, concept, "concept"
        if y is not None:
            return X_num, y, "y"
        raise ValueError(
            "LeaceTransformer requires y to be passed, but the target y is "
            "None and no concept was given: pass fit(X, concept=z), set "
            "concept_columns, or pass the concept as y."
        )

    def transform(self, X):
        """Erase the concept from ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, `n_features_in_`)
            Data to transform. Concept columns, if any, are ignored and
            dropped from the output.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            The erased data, float32 for float32 input and float64
            otherwise. ``n_features_out`` is ``n_features_in_`` minus the
            number of concept columns.
        """
        check_is_fitted(self)
        given = X
        if not (
            type(X) is np.ndarray
            and X.dtype in (np.float32, np.float64)
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and self.concept_columns is None
            and not hasattr(self, "feature_names_in_")
        ):
            # Skipped for a float array that validate_data would pass as it
            # is: its fixed cost is a fifth of the whole transform of 1 MB.
            X, _ = self._features(X, reset=False)
        # Only a NumPy array the caller handed over whole may be overwritten
        # (never, say, the buffer behind a DataFrame).
        in_place = (
            not self.copy
            and X is given
            and isinstance(given, np.ndarray)
            and X.flags.writeable
        )
        # C order whatever X's layout: the edit then runs in place on rows.
        out = X if in_place else np.empty(X.shape, dtype=X.dtype)
        d = self.mean_.shape[0]
        spread = np.sqrt(np.diagonal(self._moments.comoment)[:d] / self._moments.weight)
        return apply_edit(
            xp_numpy,
            X,
            out,
            self.proj_left_,
            self.proj_right_,
            mean=self.mean_ if self.affine else None,
            alpha=self.alpha,
            check=_check_finite_chunk,
            spread=spread,
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: the input's minus concept columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names. If None, ``feature_names_in_`` is used if
            defined, else ``x0, x1, ..., x(n_features_in_ - 1)``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Transformed feature names.
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        if self.concept_columns is None:
            return names
        drop = set(_resolve_columns(self.concept_columns, list(names), len(names)))
        return np.asarray(
            [n for i, n in enumerate(names) if i not in drop], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.concept_columns is None
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _resolve_columns(columns, names, n_features):
    """Integer positions of ``columns`` (all names or all integers).

    ``names`` are the column names, or None when the data has none.
    """
    cols = list(columns)
    if not cols:
        raise ValueError("concept_columns is empty; give at least one column.")
    if all(isinstance(c, str) for c in cols):
        if names is None:
            raise ValueError(
                "concept_columns holds column names, but X has no column "
                "names; pass a DataFrame or use integer positions."
            )
        missing = [c for c in cols if c not in names]
        if missing:
            raise ValueError(f"concept_columns {missing} are not columns of X.")
        positions = [names.index(c) for c in cols]
    elif all(isinstance(c, Integral) and not isinstance(c, bool) for c in cols):
        bad = [c for c in cols if not -n_features <= c < n_features]
        if bad:
            raise ValueError(
                f"concept_columns positions {bad} are out of range for X with "
                f"{n_features} columns."
            )
        positions = [int(c) % n_features for c in cols]
    else:
        raise TypeError(
            "concept_columns must be all column names (str) or all integer "
            f"positions, got {cols!r}."
        )
    if len(set(positions)) != len(positions):
        raise ValueError(f"concept_columns has duplicate entries: {cols!r}.")
    if len(positions) >= n_features:
        raise ValueError(
            "concept_columns covers every column of X; no features are left."
        )
    return positions


def _n_columns(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return int(np.asarray(X, dtype=object).shape[1])


def _take_columns(X, positions):
    """Split ``X`` into (other columns, concept columns), keeping dtypes."""
    if hasattr(X, "iloc"):
        rest = [i for i in range(X.shape[1]) if i not in set(positions)]
        return X.iloc[:, rest], X.iloc[:, positions]
    if hasattr(X, "select") and hasattr(X, "columns"):  # polars
        names = list(X.columns)
        keep = [names[i] for i in range(len(names)) if i not in set(positions)]
        return X.select(keep), X.select([names[i] for i in positions]).to_pandas()
    X = np.asarray(X) if not hasattr(X, "shape") else X
    mask = np.ones(X.shape[1], dtype=bool)
    mask[positions] = False
    return X[:, mask], X[:, positions]


def _check_finite_chunk(chunk):
    # Called by apply_edit only when its cheap test (a sum) is not finite,
    # which huge finite values can cause too: this exact check decides.
    assert_all_finite(chunk, input_name="X")
