"""A scorer measuring how much of the concept a fitted model's features leak."""

from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import MetadataRequest

from .._concept import CATEGORICAL, NUMERIC
from ._cross_covariance import cross_covariance_score
from ._probe import _SCORINGS, linear_probe_score

_KINDS = {
    "probe": (linear_probe_score, ("scoring", "cv", "random_state", "n_jobs")),
    "cross_covariance": (cross_covariance_score, ()),
}


def _representation(estimator, X):
    """What the final step of ``estimator`` sees: the pipeline's features."""
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    return X


class _LeakageScorer:
    """Scorer ``scorer(estimator, X, y=None, *, sensitive_features)``.

    Made by :func:`make_leakage_scorer`, which documents it.
    """

    def __init__(self, kind, kwargs):
        self._kind = kind
        self._kwargs = kwargs
        self._request = True

    def __call__(self, estimator, X, y=None, *, sensitive_features=None):
        if sensitive_features is None:
            passed = "sensitive_features" if self._request is True else self._request
            raise ValueError(
                f"{self!r} needs sensitive_features, and got none. scikit-learn "
                "passes it to scorers only with metadata routing: call "
                "sklearn.set_config(enable_metadata_routing=True), then pass "
                f"{passed}=A to GridSearchCV.fit(X, y, {passed}=A) or to "
                f"cross_validate(..., params={{'{passed}': A}}). Called "
                "directly: scorer(estimator, X, y, sensitive_features=A)."
            )
        func = _KINDS[self._kind][0]
        return func(_representation(estimator, X), sensitive_features, **self._kwargs)

    def set_score_request(self, *, sensitive_features=True):
        """Choose the name under which ``sensitive_features`` is routed.

        The scorer requests ``sensitive_features`` by default; this is only
        needed to take it from metadata passed under another name.

        Parameters
        ----------
        sensitive_features : True or str, default=True
            True takes the metadata named ``sensitive_features``; a string
            takes the metadata of that name (an alias) instead.

        Returns
        -------
        self : object
            The scorer.
        """
        if sensitive_features is not True and not isinstance(sensitive_features, str):
            raise ValueError(
                "sensitive_features must be True or a string alias, got "
                f"{sensitive_features!r}; the leakage scorer cannot work "
                "without it."
            )
        self._request = sensitive_features
        return self

    def get_metadata_routing(self):
        """The scorer's metadata request: ``sensitive_features`` for ``score``.

        Returns
        -------
        routing : MetadataRequest
            The request, read by scikit-learn's metadata routing.
        """
        request = MetadataRequest(owner=repr(self))
        request.score.add_request(param="sensitive_features", alias=self._request)
        return request

    # Asked by scikit-learn when sample_weight is passed without routing.
    def _accept_sample_weight(self):
        return False

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return f"make_leakage_scorer(kind={self._kind!r}{args})"


def make_leakage_scorer(kind="probe", **kwargs):
    """Make a scorer measuring the concept leakage of a model's features.

    The scorer measures the representation that the final step of a fitted
    model sees: for a :class:`~sklearn.pipeline.Pipeline`,
    ``estimator[:-1].transform(X)`` (for example the output of a
    :class:`~leace_sklearn.LeaceTransformer` step), and for any other
    estimator ``X`` itself. Use it in the ``scoring`` dict of
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_validate` next to accuracy and
    fairness metrics.

    Parameters
    ----------
    kind : {"probe", "cross_covariance"}, default="probe"
        ``"probe"`` scores with :func:`linear_probe_score`, ``"cross_covariance"``
        with :func:`cross_covariance_score`.

    **kwargs : dict
        Passed on to that function: ``scoring``, ``cv``, ``random_state`` and
        ``n_jobs`` for ``"probe"``; none for ``"cross_covariance"``.

    Returns
    -------
    scorer : callable
        Called as ``scorer(estimator, X, y=None, *, sensitive_features)``;
        returns the leakage as a float. ``y`` is ignored.

    See Also
    --------
    linear_probe_score : The ``"probe"`` measure.
    cross_covariance_score : The ``"cross_covariance"`` measure.

    Notes
    -----
    **Sign.** The scorer returns the raw leakage, *lower is better*, unlike
    scikit-learn's convention. So ``mean_test_<name>`` in ``cv_results_``
    reads directly as a probe score or a correlation, but
    ``rank_test_<name>`` ranks the *leakiest* candidate first, and
    ``refit="<name>"`` would refit it: choose the final model with a
    callable ``refit`` instead (see :doc:`/fairness`).

    **Metadata routing.** The sensitive features reach the scorer only
    through scikit-learn's metadata routing
    (``sklearn.set_config(enable_metadata_routing=True)``). The scorer
    requests ``sensitive_features`` by default, so no
    ``set_score_request`` call is needed:
    ``GridSearchCV(...).fit(X, y, sensitive_features=A)`` or
    ``cross_validate(..., params={"sensitive_features": A})`` pass each fold's
    rows of ``A`` to it. ``scorer.set_score_request(sensitive_features="g")``
    takes them from metadata named ``g`` instead. Without the sensitive
    features the scorer raises a ``ValueError`` that says how to route them;
    with routing off a search turns that error into a warning and a NaN
    score (its ``error_score``).

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn.pipeline import make_pipeline
    >>> from leace_sklearn import LeaceTransformer
    >>> from leace_sklearn.metrics import make_leakage_scorer
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, size=400)
    >>> X = rng.normal(size=(400, 5)) + a[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> scoring = {
    ...     "accuracy": "accuracy",
    ...     "leakage": make_leakage_scorer("cross_covariance"),
    ... }
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     eraser = LeaceTransformer().set_fit_request(concept="sensitive_features")
    ...     pipe = make_pipeline(eraser, LogisticRegression())
    ...     result = cross_validate(
    ...         pipe, X, y, scoring=scoring, return_train_score=True,
    ...         params={"sensitive_features": a},
    ...     )

    Each training fold is guarded exactly; held-out rows nearly so:

    >>> bool(result["train_leakage"].max() < 1e-10)
    True
    >>> bool(result["test_leakage"].max() < 0.3)
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}, got {kind!r}.")
    allowed = _KINDS[kind][1]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"make_leakage_scorer(kind={kind!r}) got unexpected keyword "
            f"arguments {unknown}; it accepts {list(allowed)}."
        )
    scoring = kwargs.get("scoring")
    every = _SCORINGS[CATEGORICAL] + _SCORINGS[NUMERIC]
    if scoring is not None and scoring not in every:
        raise ValueError(
            f"scoring must be None or one of {list(every)}, got {scoring!r}."
        )
    return _LeakageScorer(kind, dict(kwargs))
