"""LeaceTransformer: the scikit-learn layer (validation, tags, parameters)."""

import inspect
import warnings
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Real

import array_api_compat.numpy as xp_numpy
import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace
from sklearn import get_config
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

from . import __version__
from ._backend import (
    Backend,
    check_tensor,
    continued_backend,
    is_tensor,
    resolve_backend,
    stream_moments,
    tensor_from_numpy,
    to_numpy,
)
from ._concept import ConceptEncoder
from ._leace import apply_edit, erasure_factors, is_varying
from ._stats import batch_moments, embed_moments, merge_moments

# scikit-learn 1.8 rejects all-zero weights unless told not to; 1.6 and 1.7
# accept them without the flag. A partial_fit batch of weight 0 is valid.
_ALLOW_ZERO_WEIGHTS = (
    {"allow_all_zero_weights": True}
    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
    else {}
)


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
        gives the same guarantee but moves the data more. It needs only
        ``Sigma_XZ`` and the feature variances, so its fit costs
        O(n_samples * n_features * n_concept_columns) instead of the
        O(n_samples * n_features**2) of ``"leace"``; as a consequence,
        ``partial_fit`` batches started with ``"orth"`` cannot continue with
        ``"leace"`` (a ValueError; call :meth:`fit`).

    alpha : float in [0, 1], default=1.0
        Fraction of the edit applied: ``X - alpha * edit(X)``. 0 is the
        identity, 1 full erasure (the only value with the guarantee). Tune it
        with ``GridSearchCV`` to trade fairness against accuracy. It is
        read by :meth:`transform`, so ``set_params(alpha=...)`` takes effect
        without refitting (``affine`` and ``concept_columns`` need a refit,
        and ``transform`` raises if they changed after it).

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
        at most ``tol`` times the largest one, and eigenvalues of the feature
        correlation matrix at most ``tol`` times the largest one, count as
        zero (for ``method="orth"``: singular values of the cross-covariance
        of the standardised features); so ``tol >= 1`` erases nothing, and
        the fit warns that there is nothing to erase. None means
        ``max(n_features, n_concept_columns)`` times the float64 machine
        epsilon, so that weak or rare-group signals are erased too; only
        directions whose correlation with the concept is at the rounding
        level of the statistics (``16 * sqrt(n_samples)`` epsilons) are
        left, as noise. ``tol=0`` erases every non-zero direction.

    concept_columns : list of str or int, default=None
        Columns of ``X`` (names of a DataFrame's columns, or integer
        positions) that hold the concept; they may have any dtype (strings,
        categoricals) even when the other columns are numeric. They are used
        as the concept at fit time (one column is one concept, several are
        erased together) and removed from the output and from
        :meth:`get_feature_names_out`. At transform time they are ignored
        and may be absent: a DataFrame without them must have the remaining
        columns in their fitted order, an array without them
        ``n_features_in_ - len(concept_columns)`` columns. Columns taken
        from a float array are floats, hence numeric concepts; pass a label
        as ``concept=`` with an integer or string dtype instead.

    copy : bool, default=True
        If False, :meth:`transform` overwrites ``X`` in place when it is a
        C- or F-ordered float32/float64 array and no concept columns are
        dropped; otherwise (DataFrames, sparse matrices, read-only or
        other-dtype or other-strided arrays) a new array is returned. A C- or
        F-ordered float32/float64 torch tensor is edited in place too.

    device : {None, "cpu", "auto"} or str such as "cuda" or "cuda:1", \
            default=None
        Where :meth:`fit` and :meth:`partial_fit` compute, decided at the
        first fit. None follows the input: a torch tensor runs on torch on
        the tensor's device, anything else on NumPy. ``"cpu"`` is NumPy (a
        tensor is copied to the host); ``"cuda"`` / ``"cuda:N"`` is torch on
        that GPU, with NumPy input moved there in blocks of rows; ``"auto"``
        is CUDA when torch sees a GPU, else NumPy. The torch backend needs
        ``pip install "leace-sklearn[torch]"``. :meth:`transform` works on
        NumPy or torch input whatever the backend and returns the kind it
        was given.

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

    backend_ : {"numpy", "torch"}
        The backend that fitted the statistics.

    device_ : str
        Its device: ``"cpu"`` for NumPy, a torch device such as ``"cpu"`` or
        ``"cuda:0"`` for torch. The running statistics of :meth:`partial_fit`
        stay there between calls; the public fitted arrays are NumPy.

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
    ``concept`` argument of :meth:`fit`, else from ``y``. In a Pipeline the
    label ``y`` is not the concept: pass the concept (``leace__concept=A``,
    or with metadata routing ``set_fit_request(concept=...)``), or set
    ``concept_columns``. With routing on and the concept requested, a fit
    that receives no concept raises an error instead of erasing ``y``.

    A floating concept is used as a number; any other dtype (integers,
    bools, strings, categoricals) is one-hot encoded; a 2-D concept erases
    each column.
    Pass an integer column as float to have it treated as a number.

    Statistics are accumulated in float64 whatever the input dtype, chunk by
    chunk, and merged exactly across :meth:`partial_fit` calls; float32
    input gives float32 output. For float32 input only the feature
    covariance is multiplied in float32: the products with the concept,
    which the guarantee rests on, are taken in float64, and the feature
    covariance is whitened after loading its diagonal by about 2.4e-7 of each
    feature's variance (float32's resolution of it; eigenvalues below that
    are raised, not cut by ``tol``), so that its rounding noise cannot make
    the eraser oblique. Half-precision tensors (float16, bfloat16) are
    widened to float32 for the arithmetic and keep their dtype on output.
    Pickling saves NumPy state only, so an estimator fitted on a GPU loads
    on a machine without one, or without torch.

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
        "device": [None, str],
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
        device=None,
    ):
        self.method = method
        self.alpha = alpha
        self.affine = affine
        self.shrinkage = shrinkage
        self.tol = tol
        self.concept_columns = concept_columns
        self.copy = copy
        self.device = device

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
            "_concept_positions_",
            "_device_factors",
            "backend_",
            "device_",
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
        X : {array-like, sparse matrix, DataFrame, tensor} of shape \
                (n_samples, `n_features_in_`)
            Features. With ``concept_columns``, these columns hold the
            concept and may have any dtype. A sparse matrix is densified one
            chunk of rows at a time, never as a whole.

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
        self._check_concept_arrived("fit", concept)
        return self._atomic(True, X, y, concept, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, *, concept=None, sample_weight=None):
        """Update the eraser with one batch of rows.

        Any split of the data into batches gives the same result as
        :meth:`fit` on all of it, including categories first seen in a
        later batch (no ``classes=`` argument is needed). The first batch
        decides which statistics are kept: with ``method="orth"`` only those
        the orthogonal eraser needs, so a later batch with
        ``method="leace"`` raises a ValueError; the statistics of
        ``"leace"`` serve both methods.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame, tensor} of shape \
                (n_samples, `n_features_in_`)
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
        self._check_concept_arrived("partial_fit", concept)
        return self._atomic(False, X, y, concept, sample_weight)

    def _atomic(self, reset, *args):
        """Fit or update, or leave the estimator exactly as it was.

        Validation sets ``n_features_in_`` (and the feature names) before
        the statistics are computed; if anything fails after that, even an
        interrupt, the earlier state comes back, so that a failed call
        never leaves a half-fitted estimator behind.
        """
        saved = dict(self.__dict__)
        try:
            if reset:
                self._reset()
            return self._partial_fit(*args, whole=reset)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _check_concept_arrived(self, method, concept):
        """Refuse to fall back to ``y`` when a routed concept went missing.

        With metadata routing on and the concept requested, a missing concept
        means the caller forgot to pass it (or passed it under another
        name); erasing ``y`` instead would erase the label a downstream
        classifier needs.
        """
        if concept is not None or self.concept_columns is not None:
            return
        if not get_config().get("enable_metadata_routing", False):
            return
        request = getattr(self.get_metadata_routing(), method).requests.get("concept")
        # sklearn's own markers (e.g. "$UNUSED$") are strings but not aliases.
        alias = isinstance(request, str) and not request.startswith("$")
        if request is True or alias:
            name = request if alias else "concept"
            raise ValueError(
                f"LeaceTransformer.{method} requested the concept through "
                f"metadata routing, but no concept arrived. Pass it to the "
                f"outermost fit, e.g. fit(X, y, {name}=A); without it the "
                "target y would be erased, leaving a downstream classifier "
                f"at chance. To erase y on purpose, use "
                f"set_{method}_request(concept=False)."
            )

    def _partial_fit(self, X, y, concept, sample_weight, *, whole):
        first = not hasattr(self, "n_samples_seen_")
        if first:
            backend = resolve_backend(self.device, X)
        else:
            backend = continued_backend(self.backend_, self.device_)
            fitted = self.__dict__.get("_fitted_params")
            columns = _shape_params(self)[1]
            if fitted is not None and fitted[1] != columns:
                raise ValueError(
                    f"concept_columns was {fitted[1]!r} in the earlier "
                    f"partial_fit batches but is {columns!r} now; call fit to "
                    "start again with the new columns."
                )
            if self._moments.cross and self.method != "orth":
                raise ValueError(
                    f"method={self.method!r}, but the earlier partial_fit "
                    "batches were fitted with method='orth', whose statistics "
                    "leave out the feature covariance that LEACE needs; call "
                    "fit, or partial_fit on a new estimator, with "
                    f"method={self.method!r}."
                )
        X_num, raw_concept, source, positions_x = self._split_concept(
            X, y, concept, reset=first, tensors=backend.name == "torch"
        )
        if not first and source != self.concept_source_:
            raise ValueError(
                f"the concept came from {self.concept_source_!r} in earlier "
                f"batches but from {source!r} in this one; pass it the same way."
            )
        n_samples = X_num.shape[0]
        weights = None
        if sample_weight is not None:
            if is_tensor(sample_weight):
                sample_weight = to_numpy(sample_weight)
            try:
                weights = _check_sample_weight(
                    sample_weight,
                    np.empty((n_samples, 0)),
                    dtype=np.float64,
                    ensure_non_negative=True,
                    **_ALLOW_ZERO_WEIGHTS,
                )
            except ValueError as exc:
                raise ValueError(
                    f"{exc} sample_weight must be a 1-D array of n_samples "
                    "finite, non-negative frequencies (a weight of 2 counts the "
                    "row twice)."
                ) from exc
            # A batch of weight 0 updates nothing (and keeps any chunking of
            # the data equal to fit); the whole data need some weight. (The
            # weights are non-negative; a sum could overflow.)
            if whole and not weights.max() > 0:
                raise ValueError(
                    "sample_weight sums to zero; at least one non-zero weight "
                    "is needed."
                )
        if is_tensor(raw_concept):
            raw_concept = to_numpy(raw_concept)
        encoder = ConceptEncoder() if first else self._encoder
        encoder, encoded, positions = encoder.update(raw_concept, n_samples)
        d = X_num.shape[1]
        xp = backend.xp

        previous = None if first else self._moments_on(backend)
        if previous is not None and positions is not None:
            positions = np.concatenate([np.arange(d), d + positions])
            previous = embed_moments(xp, previous, positions, d + encoder.n_columns)
        shift = None if previous is None else previous.mean
        # method="orth" needs only the co-moments with the concept (a thin
        # product, not the d x d Gram matrix); later batches keep the kind
        # of statistics the first one started.
        cross = self.method == "orth" if previous is None else previous.cross
        # Non-finite input is diagnosed from the statistics just below.
        with np.errstate(invalid="ignore", over="ignore"):
            if backend.name == "numpy":
                batch = batch_moments(
                    xp, X_num, encoded, weights, shift=shift, cross=cross
                )
            else:
                batch = stream_moments(
                    backend, X_num, encoded, weights, shift, cross=cross
                )
        if not bool(xp.all(xp.isfinite(batch.comoment_diagonal(xp)))):
            # NaN or inf anywhere in X reaches the Gram diagonal, and an
            # off-diagonal entry is at most the largest diagonal one: only
            # then is X scanned, to say precisely what is wrong.
            _check_finite(X_num)
            if weights is not None and not np.isfinite(weights.max()):
                raise ValueError("sample_weight contains infinity.")
            raise ValueError(
                "the second moments of X overflowed float64: its values (or "
                "sample_weight times their squares) are too large; rescale X "
                "(e.g. with StandardScaler) or the weights before erasing."
            )
        moments = merge_moments(xp, previous, batch)
        left, right, keep = self._factors(backend, moments, encoder, d)

        # Nothing is stored until everything has succeeded.
        self._moments, self._encoder = moments, encoder
        self._device_factors = {}
        self.backend_, self.device_ = backend.name, backend.device
        self.concept_source_ = source
        self._concept_positions_ = positions_x
        self._fitted_params = _shape_params(self)
        self.n_samples_seen_ = moments.n_samples
        self.mean_ = to_numpy(moments.mean[:d], np.float64)
        self.proj_left_ = to_numpy(left, np.float64)
        self.proj_right_ = to_numpy(right, np.float64)
        self.rank_ = int(self.proj_left_.shape[1])
        self.classes_ = encoder.classes_attribute()
        if moments.weight == 0:
            warnings.warn(
                "The batches so far have a total sample_weight of zero: there "
                "is nothing to erase yet and the transform is the identity.",
                UserWarning,
                stacklevel=5,
            )
        elif not keep:
            warnings.warn(
                "The concept has a single class or zero variance: there is "
                "nothing to erase and the transform is the identity.",
                UserWarning,
                stacklevel=5,
            )
        elif self.rank_ == 0:
            causes = (
                "constant features, or a cross-covariance with the concept "
                "that is zero up to rounding"
            )
            if self.tol is not None:
                causes += f", or a tol={self.tol!r} that cuts every direction"
            warnings.warn(
                f"X has no linear trace of the concept ({causes}): there is "
                "nothing to erase and the transform is the identity.",
                UserWarning,
                stacklevel=5,
            )
        return self

    def _check_params_unchanged(self):
        """Refuse to transform with parameters the fitted state is not for.

        ``alpha`` is read at transform time and may change freely; the
        factors depend on ``affine``, and the layout on ``concept_columns``.
        (``method``, ``shrinkage`` and ``tol`` also shape the factors, but a
        change of them leaves a valid eraser, the one fitted.)
        """
        fitted = self.__dict__.get("_fitted_params")
        if fitted is None:  # pickled by a version that did not record them
            return
        names = ("affine", "concept_columns")
        for name, then, now in zip(names, fitted, _shape_params(self), strict=True):
            if then != now:
                raise ValueError(
                    f"{name} was {then!r} when the eraser was fitted but is "
                    f"{now!r} now; call fit (or partial_fit) again after "
                    f"set_params({name}=...)."
                )

    def _moments_on(self, backend):
        """The running statistics on ``backend`` (after unpickling: NumPy)."""
        moments = self._moments
        if backend.name == "torch" and not is_tensor(moments.comoment):
            moments = moments.map(backend.from_numpy)
        return moments

    def _factors(self, backend, moments, encoder, d):
        xp = backend.xp
        # Only the k concept entries travel to the host for the encoder.
        diagonal = moments.comoment_diagonal(xp)
        keep = []
        if moments.weight > 0:
            variance = to_numpy(diagonal[d:]) / moments.weight
            keep = encoder.erased_columns(to_numpy(moments.mean[d:]), variance)
        left, right = erasure_factors(
            xp,
            moments,
            d,
            keep,
            method=self.method,
            affine=self.affine,
            shrinkage=self.shrinkage,
            tol=self.tol,
        )
        if not self.affine and self.method == "leace" and keep:
            variance = to_numpy(diagonal[:d]) / moments.weight
            _warn_if_far_from_origin(to_numpy(moments.mean[:d]), variance)
        return left, right, keep

    def __getstate__(self):
        # Fitted state is saved as NumPy, so that an estimator fitted on a GPU
        # loads where there is none (or no torch); device copies are a cache.
        state = dict(super().__getstate__())  # may be __dict__ itself
        state.pop("_device_factors", None)
        moments = state.get("_moments")
        if moments is not None and is_tensor(moments.comoment):
            state["_moments"] = moments.map(partial(to_numpy, dtype=np.float64))
        state["_leace_sklearn_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_leace_sklearn_version", "unknown")
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    f"Trying to unpickle {type(self).__name__} from "
                    f"leace_sklearn {saved} when using version {__version__}. "
                    "This might lead to breaking code or invalid results. Use "
                    "at your own risk; refit it with this version if you can."
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def _features(self, X, *, reset, tensors=False):
        """Validate X; return the features to erase, concept columns, positions.

        The concept columns and their positions are None unless
        ``concept_columns`` is set and the columns are present (at transform
        time they may be left out). Sparse input comes back as CSR, whose
        row chunks are cheap to densify. Values are not checked for
        finiteness here: fit checks the statistics and transform each chunk,
        to avoid an extra pass over X. A torch tensor stays a tensor when
        ``tensors`` is True, and is copied to NumPy otherwise.
        """
        if is_tensor(X):
            if not tensors:
                X = to_numpy(X)
            else:
                return self._tensor_features(X, reset=reset)
        kwargs = dict(
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
            accept_sparse=("csr", "csc"),
        )
        if self.concept_columns is None:
            if _passes_as_is(X) and (
                reset
                or X.shape[1] == self.n_features_in_
                and not hasattr(self, "feature_names_in_")
            ):
                # What validate_data would return unchanged, at a fixed cost
                # of a third of a whole fit of 2 560 x 256 floats. Its only
                # side effect: reset records the number of features (the
                # feature names of an earlier fit are already gone).
                if reset:
                    self.n_features_in_ = X.shape[1]
                return X, None, None
            kwargs["dtype"] = _float_dtypes(X)
            with _explained_input_errors():
                X = validate_data(self, X, reset=reset, copy=False, **kwargs)
            return _as_csr(X), None, None
        _check_2d(X)
        if not reset and self._concept_columns_absent(X):
            kwargs["dtype"] = _float_dtypes(X)
            with _explained_input_errors():
                rest = check_array(X, copy=False, input_name="X", **kwargs)
            return _as_csr(rest), None, None
        validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            positions = _resolve_columns(
                self.concept_columns, _column_names(X), _n_columns(X)
            )
        else:
            positions = self._concept_positions_
        rest, raw = _take_columns(X, positions)
        kwargs["dtype"] = _float_dtypes(rest)
        with _explained_input_errors():
            rest = check_array(rest, copy=False, input_name="X", **kwargs)
        return _as_csr(rest), raw, positions

    def _tensor_features(self, X, *, reset):
        """:meth:`_features` for a tensor that stays on its device."""
        _check_2d(X)
        absent = (
            self.concept_columns is None
            or not reset
            and self._concept_columns_absent(X)
        )
        if absent:
            if self.concept_columns is None:
                validate_data(self, X, reset=reset, skip_check_array=True)
            return check_tensor(X), None, None
        validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            positions = _resolve_columns(self.concept_columns, None, X.shape[1])
        else:
            positions = self._concept_positions_
        rest, raw = _take_columns(X, positions)
        return check_tensor(rest), to_numpy(raw), positions

    def _concept_columns_absent(self, X):
        """Whether ``X`` at transform time comes without the concept columns.

        DataFrames are judged by their column names, arrays by their number
        of columns: ``n_features_in_`` with the concept columns, that minus
        their number without.
        """
        n_in = self.n_features_in_
        n_out = n_in - len(self._concept_positions_)
        names = _column_names(X)
        if names is not None and hasattr(self, "feature_names_in_"):
            concept_names = [
                self.feature_names_in_[i] for i in self._concept_positions_
            ]
            present = [c for c in concept_names if c in names]
            if present and len(present) < len(concept_names):
                missing = [c for c in concept_names if c not in names]
                raise ValueError(
                    f"X has some concept columns {present} but not {missing}; "
                    "pass all of them or none."
                )
            if present:
                return False
            expected = list(self.get_feature_names_out())
            if names != expected:
                raise ValueError(
                    "X has none of the concept columns, so its columns must be "
                    f"the features seen in fit without them, in order: "
                    f"{expected}; got {names}."
                )
            return True
        n_features = _n_columns(X)
        if n_features not in (n_in, n_out):
            raise ValueError(
                f"X has {n_features} features, but LeaceTransformer is "
                f"expecting {n_in} features as input (with the concept "
                f"columns) or {n_out} (without them)."
            )
        return n_features == n_out

    def _split_concept(self, X, y, concept, *, reset, tensors=False):
        """Validate X; return the features, the concept, its source, positions."""
        X_num, columns, positions = self._features(X, reset=reset, tensors=tensors)
        if self.concept_columns is not None:
            if columns is None:
                raise ValueError(
                    f"the concept columns {list(self.concept_columns)} are "
                    "missing from X; partial_fit needs them in every batch."
                )
            if concept is not None:
                raise ValueError(
                    "concept was passed to fit but concept_columns is set; use "
                    "one of the two."
                )
            return X_num, columns, "concept_columns", positions
        if concept is not None:
            return X_num, concept, "concept", None
        if y is not None:
            return X_num, y, "y", None
        raise ValueError(
            "LeaceTransformer requires y to be passed, but the target y is "
            "None and no concept was given: pass fit(X, concept=z), set "
            "concept_columns, or pass the concept as y."
        )

    def transform(self, X):
        """Erase the concept from ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame, tensor} of shape \
                (n_samples, n_features)
            Data to transform, with ``n_features_in_`` columns; with
            ``concept_columns``, the concept columns are ignored and may be
            left out.

        Returns
        -------
        X_new : ndarray or tensor of shape (n_samples, n_features_out)
            The erased data, float32 for float32 input and float64
            otherwise (a tensor keeps its dtype and device); dense also for
            sparse input, since the edit changes every entry.
            ``n_features_out`` is ``n_features_in_`` minus the number of
            concept columns. With ``set_output`` it is a pandas or polars
            DataFrame named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        self._check_params_unchanged()
        if is_tensor(X):
            return self._transform_tensor(X)
        given = X
        # _features returns a float array that validate_data would pass as
        # it is without calling it: its fixed cost is a fifth of the whole
        # transform of 1 MB.
        X, _, _ = self._features(X, reset=False)
        # Only a NumPy array the caller handed over whole may be overwritten
        # (never, say, the buffer behind a DataFrame), and only a C- or
        # F-ordered one: rows of a strided view may share memory (a stride
        # of 0), and a chunk's edit would then change rows not yet read.
        in_place = (
            not self.copy
            and X is given
            and isinstance(given, np.ndarray)
            and X.flags.writeable
            and (X.flags.c_contiguous or X.flags.f_contiguous)
        )
        # C order whatever X's layout (the edit then runs in place on rows),
        # and dense for sparse X: the low-rank edit touches every entry.
        out = X if in_place else np.empty(X.shape, dtype=X.dtype)
        return self._edit_numpy(X, out)

    def _edit_numpy(self, X, out):
        """The edit of a NumPy array (or sparse matrix) into ``out``."""
        d = self.mean_.shape[0]
        moments = self._moments
        diagonal = moments.comoment_diagonal(array_namespace(moments.mean))
        # A constant column's variance may round below zero.
        variance = to_numpy(diagonal[:d]) / (moments.weight or 1.0)
        spread = np.sqrt(np.maximum(variance, 0.0))
        return apply_edit(
            xp_numpy,
            X,
            out,
            self.proj_left_,
            self.proj_right_,
            mean=self.mean_,
            linear=not self.affine,
            alpha=self.alpha,
            check=_check_finite,
            spread=spread,
        )

    def _transform_tensor(self, X):
        """:meth:`transform` of a tensor, with torch on the tensor's device."""
        given = X
        X, _, _ = self._features(X, reset=False, tensors=True)
        half = X.dtype.itemsize < 4
        # As for arrays: C or F order only (expand() gives rows one memory).
        ordered = X.is_contiguous() or X.T.is_contiguous()
        in_place = not self.copy and X is given and not half and ordered
        if X.device.type == "cpu" and not half:
            # A CPU tensor shares its memory with a NumPy array, so the NumPy
            # kernel (two BLAS calls per chunk) runs on it directly: torch's
            # dispatch cost per operation made the same edit up to 2x slower.
            array = to_numpy(X)
            out = array if in_place else np.empty(array.shape, dtype=array.dtype)
            self._edit_numpy(array, out)
            return given if in_place else tensor_from_numpy(out)
        backend = Backend("torch", str(X.device))
        xp = backend.xp
        compute = xp.float32 if half else X.dtype
        left, right, mean = self._factors_on(backend, compute)
        out = X if in_place else xp.empty_like(X)
        # One device-side flag per chunk, read once at the end: a check per
        # chunk would wait for the device every time.
        flags = []
        options = dict(
            mean=mean,
            linear=not self.affine,
            alpha=self.alpha,
            check=lambda chunk: flags.append(xp.all(xp.isfinite(xp.sum(chunk)))),
            chunk_bytes=backend.edit_chunk_bytes,
        )
        if not half:
            apply_edit(xp, X, out, left, right, **options)
        else:
            # Half precision is widened block by block for the arithmetic.
            rows = backend.block_rows(X.shape[0], X.shape[1])
            for start in range(0, X.shape[0], rows):
                block = xp.astype(X[start : start + rows, ...], compute)
                apply_edit(xp, block, block, left, right, **options)
                out[start : start + rows, ...] = xp.astype(block, X.dtype)
        if flags and not bool(xp.all(xp.stack(flags))):
            _check_finite(X)
        return out

    def _factors_on(self, backend, dtype):
        """``proj_left_``, ``proj_right_`` and the mean on a device, cached."""
        cache = self.__dict__.setdefault("_device_factors", {})
        key = (backend.device, str(dtype))
        if key not in cache:
            xp = backend.xp
            cache[key] = tuple(
                xp.astype(backend.from_numpy(a), dtype)
                for a in (self.proj_left_, self.proj_right_, self.mean_)
            )
        return cache[key]

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
        if hasattr(self, "n_samples_seen_"):
            self._check_params_unchanged()
        names = _check_feature_names_in(self, input_features)
        if self.concept_columns is None:
            return names
        # The positions found at fit, from the input's own column names: the
        # names here may be x0, x1, ... where scikit-learn could not read
        # them (polars 2 before scikit-learn 1.8).
        drop = set(self._concept_positions_)
        return np.asarray(
            [n for i, n in enumerate(names) if i not in drop], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.concept_columns is None
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled with another version of leace_sklearn."""


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


def _column_names(X):
    """Column names of a DataFrame (pandas or polars) as str, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or sp.issparse(X):
        return None
    names = list(columns)
    if not all(isinstance(c, str) for c in names):
        return None
    return names


def _warn_if_far_from_origin(mean, variance):
    """Warn where ``affine=False`` whitens a numerically rank-one moment.

    The uncentred moment Sigma + mu mu^T keeps little of Sigma in float64
    once mu^2 / sigma^2 nears 1 / eps (see the math page).
    """
    varying = is_varying(variance, mean)
    if np.any(np.abs(mean[varying]) > 1e7 * np.sqrt(variance[varying])):
        warnings.warn(
            "affine=False: some features lie more than 1e7 standard "
            "deviations from the origin, where the uncentred second "
            "moment that the linear map whitens is numerically of rank "
            "one; the erasure may be inexact. Centre X first, or use "
            "affine=True.",
            UserWarning,
            stacklevel=7,
        )


def _shape_params(est):
    """The parameters that the fitted factors and layout are for, comparable."""
    columns = est.concept_columns
    if columns is not None:
        columns = tuple(np.asarray(columns, dtype=object).reshape(-1).tolist())
    return (bool(est.affine), columns)


def _float_dtypes(X):
    """The ``dtype`` argument of ``check_array`` that keeps float32 frames.

    ``check_array`` keeps float32 only where it sees it: NumPy arrays and
    pandas' NumPy-backed columns. A polars frame, or pandas columns that are
    pyarrow or nullable float32, would come back float64.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or not len(dtypes):
        return [np.float64, np.float32]
    # polars names its dtype; pandas' pyarrow and nullable dtypes carry it.
    single = all(
        str(dtype) == "Float32" or getattr(dtype, "numpy_dtype", dtype) == np.float32
        for dtype in dtypes
    )
    return np.float32 if single else [np.float64, np.float32]


def _passes_as_is(X):
    """Whether ``check_array`` (as ``_features`` calls it) returns ``X`` itself.

    A 2-D, non-empty NumPy float32 or float64 array: the dtype is accepted,
    no copy is asked for, and finiteness is checked later anyway.
    """
    return (
        type(X) is np.ndarray
        and X.dtype in (np.float32, np.float64)
        and X.ndim == 2
        and X.shape[0] > 0
        and X.shape[1] > 0
    )


def _as_csr(X):
    # Row chunks of CSC would each cost a pass over all non-zeros.
    return X.tocsr() if sp.issparse(X) and X.format != "csr" else X


def _n_columns(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return int(np.asarray(X, dtype=object).shape[1])


def _take_columns(X, positions):
    """Split ``X`` into (other columns, concept columns), keeping dtypes.

    A single concept column comes back 1-D, so that it is one concept (with
    ``classes_`` an array), as if passed as ``concept=``.
    """
    drop = set(positions)
    rest = [i for i in range(_n_columns(X)) if i not in drop]
    single = positions[0] if len(positions) == 1 else None
    if hasattr(X, "iloc"):
        concept = X.iloc[:, positions if single is None else single]
        return X.iloc[:, rest], concept
    if hasattr(X, "select") and hasattr(X, "columns"):  # polars
        names = list(X.columns)
        if single is None:
            concept = X.select([names[i] for i in positions])
        else:
            concept = X.get_column(names[single])
        return X.select([names[i] for i in rest]), concept
    if sp.issparse(X):
        X = X.tocsc()
        concept = X[:, positions].toarray()
        return X[:, rest], concept if single is None else concept[:, 0]
    X = np.asarray(X) if not hasattr(X, "shape") else X
    return X[:, rest], X[:, positions if single is None else single]


def _check_2d(X):
    """Refuse other than 2-D input before its columns are looked up.

    (validate_data says the same for arrays, but the concept columns are
    looked up first, and a tensor is checked for features before its shape.)
    """
    if hasattr(X, "shape"):  # arrays, frames, tensors: never converted here
        ndim = len(X.shape)
    else:
        try:
            ndim = np.ndim(X)
        except ValueError:  # a ragged nested list: check_array explains it
            return
    if ndim != 2:
        raise ValueError(
            f"Expected a 2D array for X, got {ndim}D input instead. Reshape "
            "your data, e.g. with X.reshape(-1, 1) if it has a single feature "
            "or X.reshape(1, -1) if it contains a single sample."
        )


@contextmanager
def _explained_input_errors():
    """Re-raise a validation error about X with what to do about it."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = _input_hint(exc)
        if message is None:
            raise
        raise type(exc)(message) from exc


def _input_hint(exc):
    """scikit-learn's message about X, completed by how to fix it, or None."""
    text = str(exc)
    if isinstance(exc, TypeError) or "could not convert" in text:
        return (
            f"X must hold numbers, but {text}. Encode text or categorical "
            "features first (e.g. OneHotEncoder in a ColumnTransformer), or, "
            "if they are the concept, name them in concept_columns."
        )
    if text.startswith("Complex data not supported"):
        # (scikit-learn's message goes on to print the whole array.)
        return (
            "Complex data not supported: X must be real-valued; pass X.real "
            "and X.imag as separate columns, or abs(X)."
        )
    if "Found array with dim" in text:
        return (
            f"{text} Reshape X to (n_samples, n_features), e.g. X.reshape(len(X), -1)."
        )
    if "0 sample(s)" in text or "0 feature(s)" in text:
        return f"{text} Pass at least one row and one feature."
    return None


def _check_finite(X):
    """Raise a ValueError that says how to fix NaN or infinity in ``X``.

    Called only once a cheap test (a sum, or the Gram diagonal) was not
    finite, which huge finite values can cause too: this exact check
    decides. ``X`` is an array, a sparse matrix, a tensor or a chunk.
    """
    if is_tensor(X):
        has_nan = bool(X.isnan().any())
        finite = not has_nan and bool(X.isfinite().all())
    else:
        try:
            assert_all_finite(X, input_name="X")
            return
        except ValueError as exc:
            has_nan, finite = "NaN" in str(exc), False
    if finite:
        return
    if has_nan:
        raise ValueError(
            "Input X contains NaN. LeaceTransformer does not accept missing "
            "values: impute them first, e.g. make_pipeline(SimpleImputer(), "
            "LeaceTransformer()), or drop the rows that have them."
        )
    raise ValueError(
        "Input X contains infinity or a value too large for its dtype. "
        "Replace or clip those values (or drop their rows) before erasing."
    )
