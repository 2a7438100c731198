"""Closed-form concept erasers from sufficient statistics.

Pure math on an array-API namespace ``xp``: no scikit-learn, no validation.
The eraser is returned as two low-rank factors ``left`` (d, r) and ``right``
(r, d); the edit of a (centred) row ``x`` is ``left @ (right @ x)``, so the
d x d projection is never formed.

LEACE (Belrose et al., 2023, Theorem 4.3) is ``P = W^+ P_{W S_xz} W`` for a
whitening ``W`` of ``S_xx``. The optimal eraser does not depend on the norm
in which the change is measured, hence it is equivariant under invertible
changes of coordinates: we may compute it for standardised features, and with
any whitening, such as the inverse Cholesky factor, which is several times
cheaper than the symmetric ``S_xx^{-1/2}``.

References
----------
.. [1] N. Belrose, D. Schneider-Joseph, S. Ravfogel, R. Cotterell, E. Raff and
   S. Biderman, "LEACE: Perfect linear concept erasure in closed form",
   NeurIPS 2023, arXiv:2306.03819.
.. [2] Y. Chen, A. Wiesel, Y. C. Eldar and A. O. Hero, "Shrinkage algorithms
   for MMSE covariance estimation", IEEE Trans. Signal Processing 58(10),
   5016-5029, 2010.
.. [3] A. J. Cox and N. J. Higham, "Stability of Householder QR factorization
   for weighted least squares problems", in Numerical Analysis 1997,
   Pitman Research Notes in Mathematics 380, 57-73, 1998.
"""

import math

import array_api_compat.numpy as xp_numpy
import numpy as np
from array_api_compat import device as _device
from array_api_compat import is_numpy_namespace, is_torch_namespace
from scipy.linalg import blas, lapack

from ._stats import dense_rows, subtract_into

EPS = float(np.finfo(np.float64).eps)
# OpenBLAS multiplies without packing when m * n * k is at most about this.
SMALL_GEMM = 10**6
# Chunks of the edit: small enough that a chunk of X and of the output stay
# in a core's cache between the passes over them.
EDIT_CHUNK_BYTES = 2**19


def is_varying(variance, mean):
    """True where a column's spread exceeds the rounding level of its mean.

    A column whose variance is below that level is constant up to rounding:
    it carries no signal and is never edited or erased.
    """
    return variance > (16.0 * EPS * mean) ** 2


def precision_ridge(gram_eps):
    """Relative diagonal loading of a feature covariance from float32 products.

    Products rounded at ``gram_eps`` (float32's 1.2e-7) turn the (near-)null
    directions of the feature covariance into eigenvalues of either sign at
    about that level (relative to the variances; -5e-8 on Adult's one-hot
    features with integer weights). A whitening that divides by their
    square roots makes the eraser oblique along them: exact for the
    statistics, but with factors so large that rounding them and the
    float32 edit in ``transform`` left up to 9e-4 of the cross-covariance.
    Loading the diagonal by two epsilons of the (centred) variances bounds
    that amplification and keeps the guarantee, since any invertible
    whitening erases the concept; the eraser changes only along directions
    the float32 products cannot resolve (eight epsilons bounded it no
    better and moved the eraser four times as far from the float64 one).
    Float64 statistics get no loading.
    """
    return 0.0 if gram_eps <= EPS else 2.0 * gram_eps


def default_tol(n_features, n_concept):
    """Relative cutoff used when ``tol=None``: rounding level of float64."""
    return max(n_features, n_concept, 1) * EPS


def rounding_floor(n_samples):
    """Correlation below which a direction is rounding noise (``tol=None``).

    Sums of ``n`` products carry a relative rounding error of about
    ``sqrt(n)`` machine epsilons, so a cross-covariance that is zero in exact
    arithmetic comes out as a correlation of that size. Erasing it would
    move the data along a direction of pure noise (the optimal edit is then
    the identity), so directions weaker than this are not erased. Any real
    signal, however weak or rare, is many orders of magnitude above it.
    """
    return 16.0 * math.sqrt(max(n_samples, 1)) * EPS


def oas_shrinkage(xp, cov, n_samples):
    """Oracle Approximating Shrinkage intensity of Chen et al. (2010), eq. 23.

    ``cov`` is the covariance times ``n_samples`` (a co-moment matrix; the
    intensity does not depend on that scale). Returns ``rho`` in [0, 1] for
    the estimate ``(1 - rho) * cov + rho * trace(cov) / d * I``.
    """
    d = cov.shape[0]
    # The intensity is scale-free: computed for cov / scale, whose squares
    # neither overflow nor underflow at any feature scale float64 holds.
    scale = float(xp.max(xp.abs(xp.linalg.diagonal(cov))))
    if not (scale > 0 and math.isfinite(scale)):
        return 1.0
    cov = cov / scale
    tr = float(xp.sum(xp.linalg.diagonal(cov))) / n_samples
    tr2 = float(xp.sum(cov * cov)) / n_samples**2  # trace(cov @ cov), symmetric
    num = (1.0 - 2.0 / d) * tr2 + tr**2
    den = (n_samples + 1.0 - 2.0 / d) * (tr2 - tr**2 / d)
    if den <= 0:
        return 1.0
    return float(min(1.0, max(0.0, num / den)))


def _solve_triangular(xp, a, b, *, lower):
    if hasattr(xp.linalg, "solve_triangular"):  # torch
        return xp.linalg.solve_triangular(a, b, upper=not lower)
    return xp.linalg.solve(a, b)


def _eye(xp, d, like):
    return xp.eye(d, dtype=like.dtype, device=_device(like))


class _Whitening:
    """A whitening ``W`` (``W S W^T = I`` on its range) of a correlation matrix.

    Cholesky when ``S`` is numerically positive definite (``W = C^{-1}`` for
    ``S = C C^T``), else the eigendecomposition with small eigenvalues cut (a
    pseudo-inverse whitening). With a ``floor`` (float32 statistics, see
    :func:`precision_ridge`), eigenvalues below ``floor`` times the largest
    are raised to that instead: they are noise, and cutting a noisy
    direction would leave its share of the cross-covariance unerased.
    """

    def __init__(self, xp, corr, tol, floor=0.0):
        self.xp = xp
        self.numpy = is_numpy_namespace(xp)
        self.chol = None
        try:
            chol = self._cholesky(corr)
        # LinAlgError: NumPy's (a ValueError only from NumPy 2.0 on); torch's
        # is a RuntimeError.
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            chol = None
        if chol is not None:
            pivots = xp.linalg.diagonal(chol) ** 2
            if bool(xp.all(xp.isfinite(pivots))) and float(xp.min(pivots)) > (
                tol * float(xp.max(pivots))
            ):
                self.chol = chol
                return
        evals, evecs = xp.linalg.eigh(corr)
        if floor > 0:
            evals = xp.maximum(evals, floor * float(xp.max(evals)))
        keep = evals > tol * float(xp.max(evals))
        idx = xp.nonzero(keep)[0]
        root = xp.sqrt(xp.take(evals, idx))
        vecs = xp.take(evecs, idx, axis=1)
        self.whiten_t = vecs / root[None, :]  # W^T, shape (d, q)

    def _cholesky(self, corr):
        if not self.numpy:
            return self.xp.linalg.cholesky(corr)
        # LAPACK directly, on corr.T: the same symmetric matrix, already in
        # Fortran order, so nothing is transposed. Its upper triangle is left
        # as it was; the BLAS triangular routines below never read it.
        chol, info = lapack.dpotrf(corr.T, lower=1, clean=0)
        if info != 0:
            raise np.linalg.LinAlgError("the matrix is not positive definite")
        return chol

    def apply(self, A):
        """``W @ A``."""
        if self.chol is None:
            return self.whiten_t.T @ A
        if self.numpy:
            return blas.dtrsm(1.0, self.chol, A, lower=1)
        return _solve_triangular(self.xp, self.chol, A, lower=True)

    def apply_t(self, U):
        """``W^T @ U``."""
        if self.chol is None:
            return self.whiten_t @ U
        if self.numpy:
            return blas.dtrsm(1.0, self.chol, U, lower=1, trans_a=1)
        return _solve_triangular(self.xp, self.chol.T, U, lower=False)


def _range_basis(xp, M, tol, floor=0.0):
    """Left singular vectors of ``M`` with singular value > ``tol * max``.

    Singular values at most ``floor`` (in ``M``'s units) count as zero too.
    """
    if M.shape[1] == 0:
        return M[:, :0]
    if M.shape[1] == 1:
        # The SVD of one column is its normalisation (10x cheaper).
        norm = float(xp.linalg.vector_norm(M))
        if math.isfinite(norm):
            # Its one singular value is the largest: tol >= 1 cuts it too.
            return M / norm if norm > floor and tol < 1 else M[:, :0]
    U, S, _ = xp.linalg.svd(M, full_matrices=False)
    if S.shape[0] == 0 or not float(S[0]) > floor:
        return U[:, :0]
    cutoff = max(tol * float(S[0]), floor)
    rank = int(xp.sum(xp.astype(S > cutoff, xp.int64)))
    return U[:, :rank]


def _orth_basis(xp, sxz, scale, tol, floor):
    """Orthonormal basis of the column space of ``sxz`` (``method="orth"``).

    ``scale`` holds the features' spreads (0 for constant ones), ``floor``
    the singular value below which a direction is noise. The rank is
    decided on the standardised cross-covariance, so that a feature's
    signal counts at its own scale however small, and the basis comes from
    a Householder QR with rows sorted by decreasing norm, which is
    accurate row by row (Cox and Higham, 1998): an SVD of the raw matrix
    would round every row at the scale of the largest, leaving small
    features correlated with the concept when scales differ by orders of
    magnitude.
    """
    d = sxz.shape[0]
    inv = xp.where(scale > 0, 1.0 / xp.where(scale > 0, scale, 1.0), 0.0)
    directions = _range_basis(xp, sxz * inv[:, None], tol, floor)
    rank = directions.shape[1]
    if rank == 0:
        return directions
    if rank == d:
        # Everything is erased; the identity is exact where a QR is not.
        return _eye(xp, d, sxz)
    span = directions * scale[:, None]
    order = xp.argsort(-xp.linalg.vector_norm(span, axis=1))
    q, _ = xp.linalg.qr(xp.take(span, order, axis=0))
    return xp.take(q, xp.argsort(order), axis=0)


def erasure_factors(
    xp,
    moments,
    n_features,
    keep,
    *,
    method="leace",
    affine=True,
    shrinkage=None,
    tol=None,
):
    """Low-rank factors of the least-squares (or orthogonal) concept eraser.

    Parameters
    ----------
    xp : namespace
        Array-API namespace of the statistics.
    moments : Moments
        Joint moments of ``[x | z]``, float64; cross moments suffice for
        ``method="orth"``.
    n_features : int
        Number ``d`` of feature columns; the rest are concept columns.
    keep : sequence of int
        Concept columns (0-based, within ``z``) whose span is erased. Callers
        drop one redundant one-hot column per attribute and constant columns.
    method : {"leace", "orth"}
    affine : bool
        False whitens with the uncentred second moment, for a linear map.
    shrinkage : None, "auto" or float in [0, 1]
    tol : float or None
        Relative cutoff for singular and eigen values; None is
        :func:`default_tol`, and then directions whose correlation with the
        concept is at the rounding level (:func:`rounding_floor`) are not
        erased either.

    Returns
    -------
    left : array of shape (d, r)
    right : array of shape (r, d)
        The edit of a centred row ``x`` is ``left @ (right @ x)``; the
        cross-covariance of the erased data with ``z`` is zero.
    """
    d = n_features
    if moments.cross and method != "orth":
        raise ValueError(f"method={method!r} needs full moments, not cross moments")
    keep = [int(i) for i in keep]
    weight = moments.weight
    # The floor in the units of the matrices whose SVD decides the rank
    # below: standardised (or whitened) features against the concept columns
    # as they are, whose spread is at most sqrt(max szz).
    floor = 0.0
    if tol is None:
        tol = default_tol(d, len(keep))
        if keep and weight > 0:
            szz = xp.take(moments.comoment_diagonal(xp)[d:], xp.asarray(keep))
            spread_z = math.sqrt(max(float(xp.max(szz)), 0.0))
            floor = rounding_floor(moments.n_samples) * spread_z
    if not keep or weight <= 0:
        return (
            xp.zeros((d, 0), dtype=xp.float64, device=_device(moments.mean)),
            xp.zeros((0, d), dtype=xp.float64, device=_device(moments.mean)),
        )
    # Overall scale factors (such as 1 / weight) cancel in everything below:
    # cutoffs are relative, and the correlation matrix is scale-free.
    with_z = moments.with_concept(d)
    if is_numpy_namespace(xp):
        sxz = with_z[:d, keep]  # 10x faster than take here
    else:
        sxz = xp.take(with_z[:d, ...], xp.asarray(keep), axis=1)
    mean = moments.mean[:d]
    if method == "orth":
        variance = moments.comoment_diagonal(xp)[:d] / weight
        active = is_varying(variance, mean)
        scale = xp.sqrt(xp.where(active, variance, 0.0))
        basis = _orth_basis(xp, sxz, scale, tol, floor * math.sqrt(weight))
        return basis, basis.T

    sxx = moments.comoment[:d, :d]
    if not affine:
        sxx = sxx + weight * (mean[:, None] * mean[None, :])
    # Constant features are left untouched by the eraser (decided before
    # shrinkage, which would give them a variance of their own).
    active = is_varying(xp.linalg.diagonal(sxx) / weight, mean)
    if shrinkage is not None:
        rho = oas_shrinkage(xp, sxx, weight) if shrinkage == "auto" else shrinkage
        if rho > 0:
            trace = float(xp.sum(xp.linalg.diagonal(sxx)))
            sxx = (1.0 - rho) * sxx + (rho * trace / d) * _eye(xp, d, sxx)

    ridge = precision_ridge(moments.gram_eps)
    if ridge > 0:
        # Relative to the centred variances: the float32 products are of
        # shifted data, so their noise does not grow with the mean (which
        # the uncentred moment of affine=False adds, in float64).
        centred = xp.linalg.diagonal(moments.comoment[:d, :d])
        loading = ridge * xp.where(active, centred, 0.0)
        if is_numpy_namespace(xp):
            sxx = np.array(sxx)  # a copy: sxx may be a view of the moments
            sxx.flat[:: d + 1] += loading
        else:
            sxx = sxx + _eye(xp, d, sxx) * loading[None, :]
    # Standardise: makes every cutoff relative to each feature's own scale.
    scale = xp.sqrt(xp.where(active, xp.linalg.diagonal(sxx), 1.0))
    inv = xp.where(active, 1.0 / scale, 0.0)
    right = None
    if is_numpy_namespace(xp) and bool(xp.all(active)):
        right = _cholesky_right(sxx, inv, sxz, tol, floor)
    if right is None:
        corr = sxx * inv[:, None]
        corr *= inv[None, :]
        if not bool(xp.all(active)):
            corr = corr + _eye(xp, d, corr) * xp.astype(~active, xp.float64)[None, :]
        white = _Whitening(xp, corr, tol, ridge)
        basis = _range_basis(xp, white.apply(sxz * inv[:, None]), tol, floor)
        right = (white.apply_t(basis) * inv[:, None]).T
    return _anchor(xp, right, sxz, active)


def _anchor(xp, right, sxz, active):
    """The LEACE factors ``(left, right)``, ``left`` in the span of ``sxz``.

    LEACE edits along the cross-covariance only: the textbook left factor
    ``W^+ U`` equals ``sxz (right sxz)^+`` in exact arithmetic wherever the
    whitening is invertible on ``sxz``, and the latter makes ``right @ left
    = I`` and ``(I - left right) sxz = 0`` by construction. Computed so, the
    erasure no longer rests on the whitening being accurate: where the
    covariance is so ill-conditioned that it is not (``affine=False`` on
    data 1e5 to 1e7 standard deviations from the origin left 100 times the
    affine map's rounding, and up to 0.38 at 1e7), only the choice of
    eraser suffers, not the guarantee; and features that do not covary with
    the concept, constant ones among them, are left exactly as they are.
    """
    if right.shape[0] == 0:
        return sxz[:, :0], right
    U, S, Vt = xp.linalg.svd(right @ sxz, full_matrices=False)
    # The singular values are those of the whitened cross-covariance that
    # decided the rank; only exact degeneracy drops one here.
    rank = int(xp.sum(xp.astype(S > EPS * float(S[0]), xp.int64)))
    U, S, Vt = U[:, :rank], S[:rank], Vt[:rank, ...]
    left = (sxz @ (Vt.T / S[None, :])) * xp.astype(active, xp.float64)[:, None]
    return left, U.T @ right


def _cholesky_right(sxx, inv, sxz, tol, floor=0.0):
    """The LEACE right factor from the Cholesky factor ``C`` of ``sxx`` (NumPy).

    For ``D = diag(inv)``, the Cholesky factor of the correlation matrix
    ``D sxx D`` is ``D C``, so with ``W = (D C)^{-1}`` the steps below are
    those of ``erasure_factors`` without forming the correlation matrix:
    ``W D sxz = C^{-1} sxz`` and ``(W^T U) * inv = C^{-T} U``. Returns None
    when ``D sxx D`` is not numerically positive definite (the caller then
    falls back to an eigendecomposition).
    """
    # LAPACK directly: a Fortran-ordered copy of sxx, factorised in place;
    # its upper triangle is left as it was and never read below.
    chol, info = lapack.dpotrf(sxx, lower=1, clean=0)
    if info != 0:
        return None
    pivots = (np.diagonal(chol) * inv) ** 2
    if not (np.all(np.isfinite(pivots)) and pivots.min() > tol * pivots.max()):
        return None
    basis = _range_basis(xp_numpy, blas.dtrsm(1.0, chol, sxz, lower=1), tol, floor)
    return blas.dtrsm(1.0, chol, basis, lower=1, trans_a=1).T


def needs_centring(mean, right, spread):
    """Whether ``(X - mean) @ right.T`` must be formed as written.

    Rounding in a row's product grows with the terms ``|x_j| |right_ij|``.
    Centred first, they are about ``spread_j |right_ij|``; uncentred, at most
    ``(|mean_j| + spread_j) |right_ij|``. When that at most doubles them for
    every direction ``i``, ``X @ right.T - mean @ right.T`` is as accurate
    (up to one bit) and saves a pass over the data. ``spread`` (the features'
    standard deviations) None means always centre.
    """
    if mean is None:
        return False
    if spread is None:
        return True
    size = np.abs(np.asarray(right, dtype=np.float64))
    return bool(np.any(size @ np.abs(mean) > size @ np.asarray(spread)))


def apply_edit(
    xp,
    X,
    out,
    left,
    right,
    *,
    mean=None,
    alpha=1.0,
    check=None,
    spread=None,
    chunk_bytes=None,
    linear=False,
):
    """``out = X - alpha * ((X - mean) @ right.T) @ left.T``, chunk by chunk.

    With ``linear``, the map is ``X - alpha * (X @ right.T) @ left.T``
    whatever ``mean``; it is computed as the centred product plus the
    constant ``alpha * (mean @ right.T) @ left.T``, which keeps float32 data
    far from the origin as accurate as the affine map. (The constant is
    formed in float64 and rounded once; an error in it is the same for every
    row, so it cannot correlate the output with anything.)

    Chunks are small enough to stay in cache, so the whole edit costs about
    one read of ``X`` and one write of ``out`` (which may be ``X`` itself).
    The factors are cast to ``X``'s dtype; centring before the product keeps
    float32 data with a large offset accurate, and is skipped where
    :func:`needs_centring` says, given ``spread``, that it cannot matter.
    ``check(chunk)``, if given, is called on an input chunk that may hold
    non-finite values, and should raise if it does.
    """
    n, d = X.shape
    dtype = X.dtype
    rank = left.shape[1]
    if chunk_bytes is None:
        chunk_bytes = EDIT_CHUNK_BYTES
    numpy_fast = bool(
        rank
        and alpha != 0
        and is_numpy_namespace(xp)
        and dtype in (np.float32, np.float64)
        and out.flags.c_contiguous
    )
    widen = (
        numpy_fast
        and linear
        and dtype == np.float32
        and _shrinks_far(mean, left, right, alpha, spread)
    )
    # A widened chunk is worked on in float64: size it for that.
    itemsize = 8 if widen else dtype.itemsize
    rows = int(max(1, min(n, max(64, chunk_bytes // max(1, d * itemsize)))))
    if numpy_fast:
        return _edit_numpy(
            X, out, left, right, mean, alpha, check, spread, rows, linear, widen
        )
    offset = None
    if linear and mean is not None and rank:
        # (X - mean) @ right.T + mean @ right.T, the sum taken per chunk.
        right64 = xp.astype(right, xp.float64)
        offset = xp.astype(xp.astype(mean, xp.float64) @ right64.T, dtype)
    elif linear:
        mean = None
    if rank:
        right_t = xp.astype(right.T, dtype)
        left_t = xp.astype(alpha * left.T, dtype)
        if rank == 1:
            # A product with inner dimension 1 does not reach BLAS in NumPy
            # (6x slower); a zero second direction changes nothing.
            right_t = xp.concat([right_t, xp.zeros_like(right_t)], axis=1)
            left_t = xp.concat([left_t, xp.zeros_like(left_t)], axis=0)
            if offset is not None:
                offset = xp.concat([offset, xp.zeros_like(offset)])
        buf = xp.empty((rows, d), dtype=dtype, device=_device(out))
    mean = None if mean is None else xp.astype(mean, dtype)
    numpy = is_numpy_namespace(xp)
    torch_like = is_torch_namespace(xp)
    fused = torch_like and getattr(_device(out), "type", "cpu") != "cpu"
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = dense_rows(X, start, stop)
        if check is not None and not bool(xp.all(xp.isfinite(xp.sum(block)))):
            check(block)
        if rank == 0 or alpha == 0:
            if out is not X:
                out[start:stop, ...] = block
            continue
        centred = buf[: stop - start, ...]
        if mean is None:
            coords = block @ right_t
        else:
            subtract_into(xp, centred, block, mean)
            coords = centred @ right_t
            if offset is not None:
                coords += offset[None, :]
        if numpy:
            edit = np.matmul(coords, left_t, out=centred)
        elif fused:
            # On a GPU one fused GEMM writes block - coords @ left_t, without
            # a temporary for the edit (on the CPU, mm + subtract is faster).
            dest = out[start:stop, ...]
            if out is X:
                dest.addmm_(coords, left_t, alpha=-1)
            else:
                xp.addmm(block, coords, left_t, alpha=-1, out=dest)
            continue
        elif torch_like:
            edit = xp.mm(coords, left_t, out=centred)
        else:
            edit = coords @ left_t
        subtract_into(xp, out[start:stop, ...], block, edit)
    return out


def _shrinks_far(mean, left, right, alpha, spread, bits=4):
    """Whether the linear map ``x - alpha * left @ right @ x`` moves data
    with this ``mean`` and ``spread`` far towards the origin.

    In float32, ``out = x - edit`` rounds at the scale of ``|x|``; where the
    output is ``2**bits`` times smaller than the input (the linear map of
    ``affine=False`` can remove a large mean), that rounding is many of the
    output's own units. The affine map keeps the mean, so it never does
    this. ``mean`` or ``spread`` None: the question cannot be answered (no).
    """
    if mean is None or spread is None:
        return False
    mean = np.asarray(mean, dtype=np.float64)
    spread = np.asarray(spread, dtype=np.float64)
    out_mean = mean - alpha * (np.asarray(left) @ (np.asarray(right) @ mean))
    size_in = np.abs(mean) + spread
    size_out = np.abs(out_mean) + spread
    return bool(np.any(size_in > 2.0**bits * size_out))


def _edit_numpy(X, out, left, right, mean, alpha, check, spread, rows, linear, widen):
    """``apply_edit`` for NumPy: two BLAS calls per chunk, no temporaries.

    The first computes the coordinates ``(X - mean) @ right.T``; the second
    adds ``-coords @ left.T`` into ``out`` in place (``out`` first holds a
    copy of ``X``, unless it is ``X``), so that columns the edit does not
    touch keep their exact values.

    With ``widen`` (float32 data, see :func:`_shrinks_far`), each chunk is
    edited in a float64 buffer and rounded to float32 once, at the output's
    own scale: twice the arithmetic of the float32 edit.
    """
    n, d = X.shape
    dtype = np.dtype(np.float64) if widen else X.dtype
    rank = left.shape[1]
    gemm = blas.dgemm if dtype == np.float64 else blas.sgemm
    left_f = np.zeros((d, rank + 1), dtype=dtype, order="F")
    left_f[:, :rank] = alpha * np.asarray(left)
    # One more coordinate: first each row's sum, finite unless the row holds
    # a NaN or an infinity (or the sum overflows, which ``check`` tells
    # apart), so that finiteness is tested without a pass of its own; then
    # set to 1, to add the constant part of the edit in the same product.
    right_t = np.ones((d, rank + 1), dtype=dtype)
    right_t[:, :rank] = right.T
    # Chunks small enough for OpenBLAS's small-matrix kernels, which skip
    # the packing that dominates products this thin.
    rows = max(16, min(rows, SMALL_GEMM // (d * (rank + 1))))
    coords_buf = np.empty((rows, rank + 1), dtype=dtype)
    wide_buf = np.empty((rows, d)) if widen else None
    centre = needs_centring(mean, right, spread)
    if centre:
        mean_c = np.asarray(mean).astype(dtype)
        centred_buf = np.empty((rows, d), dtype=dtype)
        if linear:
            # X @ right.T = (X - mean) @ right.T + mean @ right.T: the
            # constant part of the edit comes back through the last column.
            offset = mean_c.astype(np.float64) @ np.asarray(right, np.float64).T
            left_f[:, rank] = left_f[:, :rank].astype(np.float64) @ offset
    elif mean is not None and not linear:
        # X @ right.T - mean @ right.T: the same product up to rounding, with
        # -(mean @ right.T) @ left.T as the constant part.
        mean_c = np.asarray(mean).astype(dtype).astype(np.float64)
        offset = mean_c @ right_t[:, :rank].astype(np.float64)
        left_f[:, rank] = -(left_f[:, :rank].astype(np.float64) @ offset)
    # NaN or inf in X is reported by the test below, not by warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            if widen:
                block = target = wide_buf[: stop - start]
                np.copyto(block, dense_rows(X, start, stop))
            else:
                block = dense_rows(X, start, stop)
                target = out[start:stop]
            coords = coords_buf[: stop - start]
            if centre:
                source = centred_buf[: stop - start]
                np.subtract(block, mean_c, out=source)
            else:
                source = block
            np.matmul(source, right_t, out=coords)
            if not np.isfinite(coords.sum()) and check is not None:
                check(block)
            coords[:, rank] = 1
            if out is not X and not widen:
                np.copyto(target, block)
            gemm(-1.0, left_f, coords.T, beta=1.0, c=target.T, overwrite_c=1)
            if widen:
                np.copyto(out[start:stop], target, casting="same_kind")
    return out
