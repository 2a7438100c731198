"""What the baselines share: the concept's kind, chance, and the projection."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, check_is_fitted


def concept_kind(z):
    """``"numeric"`` for a floating concept, else ``"categorical"`` (our rule)."""
    z = np.asarray(z)
    if z.ndim != 1:
        raise ValueError(f"z must be 1-D, got shape {z.shape}.")
    return "numeric" if np.issubdtype(z.dtype, np.floating) else "categorical"


def chance_score(kind, z):
    """Score of a constant predictor: 1/k balanced accuracy, or 0 for r2."""
    return 1.0 / np.unique(z).size if kind == "categorical" else 0.0


def probe(kind, C=1.0):
    """The linear model that predicts the concept: class-balanced or ridge."""
    if kind == "numeric":
        return Ridge(alpha=1.0)
    return LogisticRegression(C=C, class_weight="balanced", max_iter=1000)


def probe_score(kind, z, predicted):
    """Balanced accuracy of a categorical concept, R^2 of a numeric one."""
    if kind == "numeric":
        return float(r2_score(z, predicted))
    return float(balanced_accuracy_score(z, predicted))


class SubspaceEraser(TransformerMixin, BaseEstimator):
    """An eraser that removes the span of an orthonormal ``basis_``.

    Subclasses have the parameters ``dev_size`` and ``random_state``.
    """

    def _dev_split(self, X, z):
        """Validated ``X``, ``z``, the concept's kind and a train/dev split."""
        X = check_array(X, dtype=np.float64)
        z = np.asarray(z)
        kind = concept_kind(z)
        split = train_test_split(
            X,
            z,
            test_size=self.dev_size,
            random_state=self.random_state,
            stratify=z if kind == "categorical" else None,
        )
        return X, z, kind, split

    @staticmethod
    def _project(X, basis):
        return X - (X @ basis) @ basis.T

    def transform(self, X):
        """Remove the erased subspace: ``X - (X @ basis_) @ basis_.T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "basis_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was "
                f"fitted with {self.n_features_in_}."
            )
        return self._project(X, self.basis_)
