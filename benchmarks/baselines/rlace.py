"""R-LACE, relaxed linear adversarial concept erasure (Ravfogel et al., 2022).

Written from the paper (Sections 3 and 4), not from its code. The rank-k
erasure is the minimax game

    max over rank-k orthogonal projections P  of
    min over linear predictors theta          of  loss(theta, (I - P) x, z),

relaxed by letting P range over the Fantope ``{0 <= P <= I, trace(P) = k}``
(the convex hull of the rank-k projections). The players alternate
stochastic gradient steps: the predictor descends, P ascends and is
projected back onto the Fantope. The relaxed P is finally rounded to the
projection onto its top-k eigenvectors.

The predictor is linear, so the gradients of both players are written out in
NumPy rather than taken with autograd: the same steps, without a framework's
per-call overhead on small batches.
"""

import numpy as np

from ._common import SubspaceEraser, chance_score, probe, probe_score


def fantope_project(A, rank):
    """Euclidean projection of a square matrix onto the rank-``rank`` Fantope.

    The Fantope is ``{P symmetric : 0 <= P <= I, trace(P) = rank}``. With
    ``(A + A^T) / 2 = U diag(lam) U^T``, the projection is ``U diag(lam') U^T``
    with ``lam' = clip(lam - theta, 0, 1)`` and ``theta`` the shift for which
    ``sum(lam') = rank`` (Vu et al., 2013, Lemma 4.1).

    Parameters
    ----------
    A : ndarray of shape (d, d)
    rank : int, 1 <= rank <= d

    Returns
    -------
    ndarray of shape (d, d)
    """
    lam, U = np.linalg.eigh((A + A.T) / 2)
    return (U * _capped_simplex(lam, rank)) @ U.T


def _capped_simplex(lam, rank):
    """``clip(lam - theta, 0, 1)`` with ``theta`` such that the sum is ``rank``.

    ``f(theta) = sum(clip(lam - theta, 0, 1))`` is piecewise linear and
    non-increasing, with kinks at ``lam`` and ``lam - 1``: evaluate it at the
    kinks and interpolate linearly, exactly.
    """
    kinks = np.sort(np.concatenate([lam, lam - 1.0]))
    values = np.clip(lam[None, :] - kinks[:, None], 0.0, 1.0).sum(axis=1)
    theta = np.interp(rank, values[::-1], kinks[::-1])
    return np.clip(lam - theta, 0.0, 1.0)


def top_eigenvectors(P, rank):
    """Orthonormal basis (d, rank) of the top-``rank`` eigenvectors of ``P``."""
    _, U = np.linalg.eigh((P + P.T) / 2)
    return U[:, -rank:]


class _Loss:
    """The predictor's loss on a batch and its gradient with respect to the logits.

    Class-weighted cross-entropy (the weighted mean, as in PyTorch's
    ``CrossEntropyLoss(weight=...)``) for codes ``0..k-1``, or the mean
    squared error for a numeric target of shape (n, 1).
    """

    def __init__(self, kind, target):
        self.kind = kind
        if kind == "numeric":
            self.target = ((target - target.mean()) / target.std()).reshape(-1, 1)
            self.n_outputs = 1
            return
        classes, codes = np.unique(target, return_inverse=True)
        self.target = codes
        self.n_outputs = classes.size
        self.class_weight = codes.size / (classes.size * np.bincount(codes))

    def gradient(self, logits, rows):
        """d loss / d logits, shape (batch, n_outputs)."""
        target = self.target[rows]
        if self.kind == "numeric":
            return 2.0 * (logits - target) / logits.size
        shifted = logits - logits.max(axis=1, keepdims=True)
        prob = np.exp(shifted)
        prob /= prob.sum(axis=1, keepdims=True)
        prob[np.arange(target.size), target] -= 1.0
        weight = self.class_weight[target]
        return prob * (weight / weight.sum())[:, None]


class RLACE(SubspaceEraser):
    """Relaxed linear adversarial concept erasure (R-LACE), a baseline.

    Parameters
    ----------
    rank : int, default=None
        Rank of the erased subspace. None means ``k - 1`` for a concept with
        ``k`` classes and 1 for a numeric concept.
    max_iter : int, default=10000
        Most alternating steps (the paper's example runs 50 000; bounded here
        so that the comparison runs in minutes).
    lr : float, default=0.003
        SGD learning rate of both players (the paper's setting).
    weight_decay : float, default=1e-4
        SGD weight decay of both players (the paper's setting).
    batch_size : int, default=256
        Rows per step (the paper's setting).
    epsilon : float, default=0.001
        Stop when a fresh probe on the rounded projection scores within
        ``epsilon`` of chance on the dev split (the paper's setting).
    eval_every : int, default=1000
        Steps between two evaluations of the rounded projection; the best
        one seen (closest to chance) is kept, as in the paper.
    dev_size : float, default=0.2
        Fraction of the rows held out for the evaluations.
    eval_rows : int, default=10000
        Most training rows the evaluation probe is fitted on.
    random_state : int, default=0
        Seed of the split, the initial predictor and the batches.

    Attributes
    ----------
    basis_ : ndarray of shape (n_features, rank_)
        Orthonormal basis of the erased subspace.
    rank_ : int
    n_iter_ : int
        Steps run.
    dev_score_ : float
        Dev score of the probe on the kept projection.

    Notes
    -----
    The predictor is a linear layer with a bias, trained with the
    cross-entropy (class weights balanced, so that it aims at the
    class-balanced probe that the comparison measures) for a categorical
    concept and with the squared loss on the standardized concept for a
    numeric one; for the squared loss the paper solves the game in closed
    form (the orthogonal projection that removes ``X^T z``), the game is
    still run here. The relaxed P starts at the centre of the Fantope,
    ``(rank / d) I``. The data are not centred and the map is linear,
    ``x - Q Q^T x``, as in the paper. The evaluation probe is scikit-learn's
    balanced ``LogisticRegression`` (``Ridge`` for a numeric concept), the
    one the comparison uses.

    References
    ----------
    S. Ravfogel, M. Twiton, Y. Goldberg and R. Cotterell, "Linear adversarial
    concept erasure", ICML 2022, arXiv:2201.12091.

    V. Q. Vu, J. Cho, J. Lei and K. Rohe, "Fantope projection and selection:
    a near-optimal convex relaxation of sparse PCA", NeurIPS 2013.
    """

    def __init__(
        self,
        *,
        rank=None,
        max_iter=10000,
        lr=0.003,
        weight_decay=1e-4,
        batch_size=256,
        epsilon=0.001,
        eval_every=1000,
        dev_size=0.2,
        eval_rows=10000,
        random_state=0,
    ):
        self.rank = rank
        self.max_iter = max_iter
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epsilon = epsilon
        self.eval_every = eval_every
        self.dev_size = dev_size
        self.eval_rows = eval_rows
        self.random_state = random_state

    def _score(self, kind, basis, X_eval, z_eval, X_dev, z_dev):
        """Dev score of a fresh probe fitted on the projected data."""
        model = probe(kind).fit(self._project(X_eval, basis), z_eval)
        return probe_score(kind, z_dev, model.predict(self._project(X_dev, basis)))

    def fit(self, X, z):
        """Play the relaxed game and keep the best rounded projection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        z : array-like of shape (n_samples,)
            The concept: floating is numeric, anything else categorical.

        Returns
        -------
        self : RLACE
        """
        X, z, kind, (X_fit, X_dev, z_fit, z_dev) = self._dev_split(X, z)
        d = X.shape[1]
        X_eval, z_eval = X_fit[: self.eval_rows], z_fit[: self.eval_rows]
        loss = _Loss(kind, z_fit)
        rank = self.rank
        if rank is None:
            rank = 1 if kind == "numeric" else loss.n_outputs - 1
        if not 1 <= rank <= d:
            raise ValueError(f"rank must be in [1, {d}], got {rank}.")
        chance = chance_score(kind, z)

        rng = np.random.default_rng(self.random_state)
        # The default initialisation of a linear layer (uniform, 1/sqrt(d)).
        bound = 1.0 / np.sqrt(d)
        W = rng.uniform(-bound, bound, size=(loss.n_outputs, d))
        b = rng.uniform(-bound, bound, size=loss.n_outputs)
        P = fantope_project(np.zeros((d, d)), rank)
        lr, decay = self.lr, self.weight_decay

        best = (np.inf, None, np.nan)
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            rows = rng.integers(0, X_fit.shape[0], size=self.batch_size)
            xb = X_fit[rows]
            # The predictor descends the loss on the erased batch ...
            erased = xb - xb @ P
            g = loss.gradient(erased @ W.T + b, rows)
            W -= lr * (g.T @ erased + decay * W)
            b -= lr * g.sum(axis=0)
            # ... then P ascends it (d logits / d P = -x^T g W) and goes back
            # to the Fantope.
            g = loss.gradient(erased @ W.T + b, rows)
            P = fantope_project(P + lr * (-(xb.T @ g) @ W - decay * P), rank)
            if n_iter % self.eval_every == 0 or n_iter == self.max_iter:
                basis = top_eigenvectors(P, rank)
                score = self._score(kind, basis, X_eval, z_eval, X_dev, z_dev)
                gap = abs(score - chance)
                if gap < best[0]:
                    best = (gap, basis, score)
                if gap < self.epsilon:
                    break
        self.basis_ = best[1]
        self.dev_score_ = best[2]
        self.rank_ = rank
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        return self
