"""INLP, iterative nullspace projection (Ravfogel et al., 2020), as a baseline.

Written from the paper (Algorithm 1 and Section 3), not from its code:

    repeat: train a linear classifier W on the projected data;
            add the row space of W to the removed subspace;
            project the data onto the nullspace of everything removed so far.

The final map is the orthogonal projection onto the intersection of the
nullspaces, ``P = I - P_{R(W_1) + ... + R(W_m)}`` (the paper's Eq. 3, after
Ben-Israel), stored as an orthonormal basis of the removed subspace.
"""

import numpy as np

from ._common import SubspaceEraser, chance_score, probe, probe_score


def extend_basis(basis, vectors, *, rtol=1e-10):
    """Orthonormal basis of span(basis) + span(vectors), ``basis`` kept first.

    Parameters
    ----------
    basis : ndarray of shape (d, r)
        Orthonormal columns.
    vectors : ndarray of shape (d, m)
        New directions, in any scale.
    rtol : float
        New directions whose component outside ``span(basis)`` is below
        ``rtol`` times their norm are dropped.

    Returns
    -------
    ndarray of shape (d, r + m') with m' <= m
    """
    scale = np.linalg.norm(vectors, axis=0)
    keep = scale > 0
    if not keep.any():
        return basis
    vectors = vectors[:, keep] / scale[keep]
    # Two passes of Gram-Schmidt against the old basis, then an SVD of the
    # rest, so that the basis stays orthonormal to rounding after many steps.
    for _ in range(2):
        vectors = vectors - basis @ (basis.T @ vectors)
    u, s, _ = np.linalg.svd(vectors, full_matrices=False)
    return np.hstack([basis, u[:, s > rtol]])


class INLP(SubspaceEraser):
    """Iterative nullspace projection (INLP) of Ravfogel et al. (2020).

    Each iteration fits a linear model that predicts the concept from the
    data projected so far, and removes the row space of its weights. It stops
    when the model trained on the projected data scores within ``tol`` of
    chance on a held-out dev split (and that model's weights are not
    removed), or after ``max_iter`` iterations.

    Parameters
    ----------
    max_iter : int, default=35
        Most iterations (the paper's setting for its gender-debiasing of
        GloVe; its larger experiments use up to 300).
    tol : float, default=0.01
        Stop when the dev score is at most ``chance + tol``: balanced
        accuracy for a categorical concept (chance ``1/k``), R^2 for a
        numeric one (chance 0).
    dev_size : float, default=0.2
        Fraction of the rows held out to decide when to stop.
    C : float, default=1.0
        Inverse regularization of the logistic regression.
    random_state : int, default=0
        Seed of the dev split.

    Attributes
    ----------
    basis_ : ndarray of shape (n_features, rank_)
        Orthonormal basis of the removed subspace.
    rank_ : int
        Number of removed directions.
    n_iter_ : int
        Iterations run (classifiers trained).
    dev_scores_ : list of float
        Dev score of the classifier of each iteration.

    Notes
    -----
    The classifier is scikit-learn's ``LogisticRegression`` (multinomial for
    more than two classes, so each iteration removes up to ``k - 1``
    directions) with ``class_weight="balanced"``; the paper uses linear SVMs
    or logistic regression with plain weights and compares with the majority
    accuracy. The balanced weights aim INLP at the class-balanced probe that
    the comparison measures. For a numeric concept (not in the paper) the
    classifier is a ridge regression, one direction per iteration.

    The map is linear (no centring), as in the paper: the removed directions
    are zeroed, mean included.

    References
    ----------
    S. Ravfogel, Y. Elazar, H. Gonen, M. Twiton and Y. Goldberg, "Null it
    out: guarding protected attributes by iterative nullspace projection",
    ACL 2020, arXiv:2004.07667.
    """

    def __init__(self, *, max_iter=35, tol=0.01, dev_size=0.2, C=1.0, random_state=0):
        self.max_iter = max_iter
        self.tol = tol
        self.dev_size = dev_size
        self.C = C
        self.random_state = random_state

    def fit(self, X, z):
        """Find the removed subspace.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        z : array-like of shape (n_samples,)
            The concept: floating is numeric, anything else categorical.

        Returns
        -------
        self : INLP
        """
        X, z, kind, (X_fit, X_dev, z_fit, z_dev) = self._dev_split(X, z)
        chance = chance_score(kind, z)
        basis = np.zeros((X.shape[1], 0))
        self.dev_scores_ = []
        for _ in range(self.max_iter):
            model = probe(kind, self.C).fit(self._project(X_fit, basis), z_fit)
            score = probe_score(kind, z_dev, model.predict(self._project(X_dev, basis)))
            self.dev_scores_.append(score)
            if score <= chance + self.tol:
                break
            basis = extend_basis(basis, np.atleast_2d(model.coef_).T)
            if basis.shape[1] == X.shape[1]:
                break
        self.basis_ = basis
        self.rank_ = basis.shape[1]
        self.n_iter_ = len(self.dev_scores_)
        self.n_features_in_ = X.shape[1]
        return self
