"""Mergeable weighted sufficient statistics of the joint vector ``[x | z]``.

Pure math on an array-API namespace ``xp``: no scikit-learn, no validation.
Everything LEACE needs is the weight sum, the weighted mean and the weighted
co-moment matrix (sum of centred outer products) of ``v = [x | z]``; the
orthogonal eraser needs only the co-moments with ``z`` and the diagonal
(*cross* moments, a thin product instead of a ``d x d`` one). Batches
are reduced chunk by chunk with one symmetric rank-k update of
``[sqrt(w) (v - s) | sqrt(w)]`` (``s`` a shift close to the mean, so that
float32 data keeps its precision), and batches are merged with the pairwise
update of Chan, Golub & LeVeque, so that any chunking of the data gives the
statistics of one pass.

References
----------
.. [1] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing
   the sample variance: analysis and recommendations", The American
   Statistician 37(3), 242-247, 1983.
"""

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from array_api_compat import device as _device
from array_api_compat import is_numpy_namespace, is_torch_namespace
from scipy.linalg import blas

# Chunks of [x | z | 1] for the Gram product: about the size of a core's
# cache, so that shifting a chunk and multiplying it cost one pass over X, but
# at least a few times wider than tall (a rank-m update of a p x p result is
# efficient only when m is not much smaller than p), and never more than
# CHUNK_BYTES, so that fit needs little memory beyond the caller's data.
CACHE_BYTES = 2**20
CHUNK_BYTES = 32 * 2**20
# The shift only needs to be near the mean: a few rows estimate it to a small
# fraction of a standard deviation.
SHIFT_ROWS = 64
# float32 chunks are widened to float64 for the thin products in pieces of
# this size, which stay in a core's cache between the copy and the product.
THIN_BYTES = 2**18


@dataclass
class Moments:
    """Weighted moments of ``v = [x | z]`` (``p = d + k`` columns, float64).

    Attributes
    ----------
    n_samples : int
        Number of rows seen.
    weight : float
        Sum of the sample weights.
    mean : array of shape (p,)
        Weighted mean of ``v``.
    comoment : array of shape (p, p), or (p, k) for cross moments
        ``sum_i w_i (v_i - mean)(v_i - mean)^T``; divide by ``weight`` for the
        (biased) covariance. Cross moments keep only its last ``k`` columns,
        those of ``z``.
    diagonal : array of shape (p,) or None
        The co-moment diagonal, for cross moments only (None: full moments).
    gram_eps : float
        Machine epsilon of the dtype the feature co-moments were multiplied
        in (float32 for float32 batches, even though they are summed in
        float64); the largest over merged batches.
    """

    n_samples: int
    weight: float
    mean: Any
    comoment: Any
    diagonal: Any = None
    gram_eps: float = float(np.finfo(np.float64).eps)

    @property
    def cross(self):
        """Whether only the co-moments with ``z`` (and the diagonal) are kept."""
        return self.diagonal is not None

    def comoment_diagonal(self, xp):
        """The diagonal of the full co-moment matrix, shape (p,)."""
        return self.diagonal if self.cross else xp.linalg.diagonal(self.comoment)

    def with_concept(self, n_features):
        """Co-moments of every column with the concept columns, (p, k)."""
        return self.comoment if self.cross else self.comoment[:, n_features:]

    def map(self, convert):
        """The same moments with ``convert`` applied to every array."""
        return replace(
            self,
            mean=convert(self.mean),
            comoment=convert(self.comoment),
            diagonal=None if self.diagonal is None else convert(self.diagonal),
        )


def chunk_rows(n_cols, itemsize, n_rows, *, min_rows_per_col=4, whole_bytes=0):
    """Rows per chunk of ``n_cols`` columns (see ``CACHE_BYTES``).

    Chunks have at least ``min_rows_per_col * n_cols`` rows; a batch of at
    most ``whole_bytes`` is one chunk. The rows are spread evenly over the
    chunks, so that no small last chunk runs at a fraction of BLAS speed.
    """
    row_bytes = max(1, n_cols * itemsize)
    rows = max(CACHE_BYTES // row_bytes, min_rows_per_col * n_cols)
    if n_rows * row_bytes <= whole_bytes:
        rows = n_rows
    rows = max(1, min(n_rows, rows, CHUNK_BYTES // row_bytes))
    n_chunks = -(-n_rows // rows)
    return int(-(-n_rows // n_chunks))


def dense_rows(X, start, stop):
    """Rows ``start:stop`` of ``X`` as a dense array.

    A scipy.sparse matrix (CSR, for cheap row slices) is densified one chunk
    at a time, so that sparse input never costs an n x d dense copy.
    """
    return _densified(X[start:stop, ...])


def _densified(rows):
    """Rows taken from an array or a scipy.sparse matrix, as a dense array."""
    return rows.toarray() if hasattr(rows, "toarray") else rows


def subtract_into(xp, out, a, b):
    """``out[...] = a - b``, without a temporary where the namespace allows."""
    # NumPy can write the difference straight into the chunk buffer; the
    # generic path makes one chunk-sized temporary.
    if is_numpy_namespace(xp):
        np.subtract(a, b, out=out)
    elif is_torch_namespace(xp):
        xp.subtract(a, b, out=out)  # torch.subtract itself
    else:
        out[...] = a - b


def batch_moments(xp, X, concept, weights, *, shift=None, cross=False):
    """Moments of one batch, computed chunk by chunk.

    Parameters
    ----------
    xp : namespace
        Array-API namespace of ``X``.
    X : array of shape (n, d)
        Features, float32 or float64, or a scipy.sparse CSR matrix (NumPy
        only). The Gram products run in this dtype; the chunk results are
        summed in float64.
    concept : object
        The encoded concept of the batch, with attributes ``n_columns`` (k)
        and ``numeric`` (bool mask of the columns that may be shifted) and
        methods ``head_mean(rows)`` and ``fill(start, stop, out, shift)``
        (see ``_concept.EncodedConcept``).
    weights : array of shape (n,) or None
        Non-negative sample weights; None means all ones.
    shift : array of shape (d + k,) or None
        A float64 value close to the mean, subtracted before the products to
        avoid cancellation. None uses the mean of the first rows.
    cross : bool, default=False
        Compute cross moments only (see :class:`Moments`): a product with
        ``k + 1`` columns instead of the ``(d + k + 1)``-wide Gram matrix.

    Returns
    -------
    moments : Moments
    """
    n, d = X.shape
    k = concept.n_columns
    p = d + k
    dtype = X.dtype
    f64 = xp.float64
    head = min(n, SHIFT_ROWS)
    if shift is None:
        shift = xp.concat(
            [_head_shift(xp, X, head, weights), xp.asarray(concept.head_mean(head))]
        )
    # The shift used for X is the one rounded to X's dtype, and indicator
    # columns are never shifted; the bookkeeping uses exactly those values.
    numeric = xp.asarray(concept.numeric)
    shift_x = xp.astype(xp.astype(shift[:d], dtype), f64)
    shift_z = xp.where(numeric, shift[d:], 0.0)
    shift = xp.concat([shift_x, shift_z])
    shift_x_c = xp.astype(shift_x, dtype)
    args = (X, concept, weights, shift_x_c, shift_z, cross)
    if is_numpy_namespace(xp):
        gram, squares = _numpy_gram(*args)
    else:
        gram, squares = _generic_gram(xp, *args)
    # The weight sum and the column sums (in the column of the weights, for
    # the shifted data) come from the same float64 products as the
    # co-moments with z (see ``_thin_float64``), so that the erasure is
    # exact for the weighting it saw.
    ones = k if cross else p
    weight = float(gram[p, ones])
    first = gram[:p, ones]
    mean = shift + first / weight if weight > 0 else shift
    if cross:
        comoment, diagonal = gram[:p, :k], squares[:p]
        if weight > 0:
            comoment = comoment - first[:, None] * (first[None, d:] / weight)
            diagonal = diagonal - first * first / weight
        return Moments(n, weight, mean, comoment, diagonal)
    gram_eps = float(xp.finfo(dtype).eps)
    comoment = gram[:p, :p]
    if weight > 0:
        # comoment -= first first^T / weight, kept exactly symmetric.
        root = first / math.sqrt(weight)
        if is_numpy_namespace(xp):
            _rank_one_update(gram, root)
        else:
            comoment = comoment - root[:, None] * root[None, :]
    return Moments(n, weight, mean, comoment, gram_eps=gram_eps)


def _head_shift(xp, X, head, weights=None):
    """The shift of the feature columns: the mean of the first ``head`` rows.

    Where that mean is within one standard deviation of zero in every
    column, shifting gains at most one bit in the Gram products (the sums of
    squares are then at most twice the centred ones), so the shift is zero
    and the pass that subtracts it is skipped. A constant column away from
    zero is always shifted, so that it stays exactly constant.

    With weights, the rows are the first ``head`` of positive weight, and
    the mean and spread are weighted: a column constant on the rows that
    count, whatever it holds on rows of weight 0, then stays exactly
    constant too, as it does when those rows are dropped.
    """
    rows, w = _counted_head(xp, X, head, weights)
    total = float(rows.shape[0]) if w is None else float(xp.sum(w))
    shift = xp.sum(rows if w is None else rows * w, axis=0) / total
    rows -= shift[None, :]
    squares = rows * rows
    variance = xp.sum(squares if w is None else squares * w, axis=0) / total
    if bool(xp.all(shift * shift <= variance)):
        return xp.zeros_like(shift)
    return shift


def _counted_head(xp, X, head, weights):
    """The first ``head`` rows of positive weight, in float64, and their weights.

    Without weights, or with none positive, the first ``head`` rows and None.
    """
    if weights is not None:
        counted = xp.nonzero(weights > 0)[0][:head]
        if counted.shape[0] > 0:
            if is_numpy_namespace(xp):
                rows = _densified(X[counted])
            else:
                rows = xp.take(X, counted, axis=0)
            w = xp.astype(xp.take(weights, counted), xp.float64)[:, None]
            return xp.astype(rows, xp.float64, copy=True), w
    return xp.astype(dense_rows(X, 0, head), xp.float64, copy=True), None


def _generic_gram(xp, X, concept, weights, shift_x, shift_z, cross=False):
    """Gram matrix of ``[sqrt(w) (v - s) | sqrt(w)]`` in float64, any namespace.

    Returns ``(gram, None)``, or with ``cross`` the ``(p + 1, k + 1)`` columns
    of the concept and the weights and the diagonal: ``(gram, squares)``.
    """
    n, d = X.shape
    p = d + concept.n_columns
    dtype = X.dtype
    f64 = xp.float64
    rows = chunk_rows(p + 1, dtype.itemsize, n)
    buf = xp.zeros((rows, p + 1), dtype=dtype, device=_device(X))
    sqrt_w = None
    if weights is not None and not cross:
        sqrt_w = xp.sqrt(xp.astype(weights, dtype))
    # Numeric concept columns are written again in float64 (unrounded).
    numeric_z = dtype != f64 and bool(xp.any(concept.numeric))
    gram = squares = None
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = buf[: stop - start, ...]
        subtract_into(xp, block[:, :d], dense_rows(X, start, stop), shift_x)
        concept.fill(start, stop, block[:, d:p], shift_z)
        block[:, p] = 1
        thin = None
        if cross or dtype != f64:
            # In float64 with the exact weights, as in ``_thin_float64``.
            wide = xp.astype(block, f64, copy=False)
            if numeric_z:
                concept.fill(start, stop, wide[:, d:p], shift_z)
            right = wide[:, d:]
            if weights is not None:
                right = right * weights[start:stop, None]
            thin = wide.T @ right
        if cross:
            sq = wide * wide
            if weights is not None:
                sq = sq * weights[start:stop, None]
            sq = xp.sum(sq, axis=0)
            squares = sq if squares is None else squares + sq
            g = thin
        else:
            if sqrt_w is not None:
                block *= sqrt_w[start:stop, None]
            if thin is None:
                g = xp.astype(_gram_product(xp, block), f64)
            else:
                # The products with z and the weights are in ``thin``: the
                # low-precision one is of the features alone.
                g = xp.zeros((p + 1, p + 1), dtype=f64, device=_device(X))
                g[:d, :d] = xp.astype(_gram_product(xp, block[:, :d]), f64)
                g[:, d:] = thin
                g[d:, :] = thin.T
        gram = g if gram is None else gram + g
    return gram, squares


def _gram_product(xp, block):
    """``block.T @ block``."""
    if is_torch_namespace(xp) and block.device.type == "cpu":
        # torch multiplies X.T @ X as a general product; NumPy, on the same
        # memory, sends it to SYRK, which does half the work.
        view = block.numpy()
        return xp.asarray(view.T @ view)
    return block.T @ block


def _numpy_gram(X, concept, weights, shift_x, shift_z, cross=False):
    """``_generic_gram`` for NumPy: aligned rows, BLAS calls that accumulate."""
    if X.dtype != np.float64 and not cross:
        return _float32_gram(X, concept, weights, shift_x, shift_z), None
    n, d = X.shape
    k = concept.n_columns
    p = d + k
    # Cross moments are thin products only: they run in float64 whatever
    # X's dtype (see ``_thin_float64`` for why).
    dtype = np.dtype(np.float64)
    # Rows padded with zero columns to a multiple of 4 values: BLAS runs
    # markedly faster on such rows than the extra columns cost.
    width = -(-(p + 1) // 4) * 4
    # dsyrk adds a chunk into the result in place: chunks stay in cache when
    # the result does too, else they are tall enough for the result's
    # traffic to be small. Cross products are thin: cache-sized chunks.
    small = cross or width * width * dtype.itemsize <= CACHE_BYTES
    rows = chunk_rows(width, dtype.itemsize, n, min_rows_per_col=1 if small else 4)
    # Not np.zeros: a calloc'd buffer is zeroed or page-faulted in full on
    # every call, while only the padding needs zeros.
    buf = np.empty((rows, width), dtype=dtype)
    buf[:, p] = 1
    buf[:, p + 1 :] = 0
    sqrt_w = None if weights is None else np.sqrt(weights)
    # A copy then a rank-one update ``block -= 1 shift^T`` is up to twice as
    # fast as NumPy's broadcast subtraction into the strided columns, with
    # the same rounding.
    shift = np.zeros(width, dtype=dtype)
    shift[:d] = shift_x
    shifted = bool(np.any(shift_x != 0))
    ones = np.ones(rows, dtype=dtype)
    if cross:
        gram = np.zeros((width, k + 1))
        squares = np.zeros(width)
        chunk_squares = np.empty(width, dtype=dtype)
    else:
        # SciPy's dsyrk adds each chunk into one triangle in place.
        gram = np.zeros((width, width), order="F")
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = buf[: stop - start]
        np.copyto(block[:, :d], dense_rows(X, start, stop))
        if shifted:
            blas.dger(-1.0, shift, ones[: stop - start], a=block.T, overwrite_a=1)
        concept.fill(start, stop, block[:, d:p], shift_z)
        if sqrt_w is not None:
            scale = sqrt_w[start:stop, None]
            block[:, :p] *= scale
            block[:, p : p + 1] = scale
        if cross:
            gram += block.T @ block[:, d : p + 1]
            np.einsum("ij,ij->j", block, block, out=chunk_squares)
            squares += chunk_squares
        else:
            gram = blas.dsyrk(1.0, block.T, beta=1.0, c=gram, overwrite_c=1)
    if cross:
        return gram, squares
    # dsyrk wrote the upper triangle; the lower one is still zero.
    diagonal = np.diagonal(gram).copy()
    gram = gram + gram.T
    np.fill_diagonal(gram, diagonal)
    return gram, None


def _float32_gram(X, concept, weights, shift_x, shift_z):
    """``_numpy_gram`` of float32 features: their SYRK in float32, the rest not.

    The products with z and the weights come from ``_thin_float64``; the
    float32 SYRK (2-3 times faster than float64) is of the features alone.
    """
    n, d = X.shape
    k = concept.n_columns
    p = d + k
    width = -(-(p + 1) // 4) * 4
    # The product with z is taken with a multiple of 4 columns that includes
    # z and the weights: faster than with those k + 1 alone (by 15-30 % for
    # k = 2), though a few more are multiplied.
    window = -(-(k + 1) // 4) * 4
    first = min(d, width - window)
    # Each float32 chunk is summed into float64 at a cost in d**2: chunks
    # are tall, and a small batch is one.
    rows = chunk_rows(width, 4, n, whole_bytes=4 * CACHE_BYTES)
    shifted = bool(np.any(shift_x != 0))
    # Each chunk is copied once, even where it needs neither a shift nor
    # weights: the thin product and the SYRK then read it from cache (taking
    # both from X itself was 6 % slower at n = 100 000, d = 256). Rows of
    # ``width`` values, the padding zero: aligned for BLAS, and not a power
    # of two apart. The BLAS calls take whole rows (SciPy's would copy a
    # strided view, not write into it).
    buf = np.empty((rows, width), dtype=X.dtype)
    buf[:, d:] = 0
    shift_pad = np.zeros(width, dtype=X.dtype)
    shift_pad[:d] = shift_x
    ones = np.ones(rows, dtype=X.dtype)
    sqrt_w = None if weights is None else np.sqrt(weights.astype(X.dtype))
    # The float64 rows of the thin product: the ones and the zero padding
    # stay; features and z are written per piece.
    wide = np.empty((max(16, min(rows, THIN_BYTES // (8 * width))), width))
    wide[:, p] = 1
    wide[:, p + 1 :] = 0
    # z in float64 for a chunk at a time: per piece, its fixed cost would
    # show at small d.
    z = np.empty((rows, k))
    thin = np.zeros((width, window))
    features = np.zeros((d, d))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        concept.fill(start, stop, z[: stop - start], shift_z)
        full = buf[: stop - start]
        np.copyto(full[:, :d], dense_rows(X, start, stop))
        if shifted:
            blas.sger(-1.0, shift_pad, ones[: stop - start], a=full.T, overwrite_a=1)
        block = full[:, :d]
        w = None if weights is None else weights[start:stop]
        _thin_float64(thin, block, z[: stop - start], wide, first, w)
        if sqrt_w is not None:
            block *= sqrt_w[start:stop, None]
        features += block.T @ block
    gram = np.zeros((width, width))
    gram[:d, :d] = features
    thin = thin[:, d - first : p + 1 - first]
    gram[:, d : p + 1] = thin
    gram[d : p + 1, :] = thin.T
    return gram


def _thin_float64(out, rows, z, wide, first, weights):
    """``out += V.T @ (weights * V[:, first:])``, in float64, for ``V = [x | z | 1]``.

    ``rows`` holds the features ``x`` of a chunk, as multiplied (shifted,
    not yet weighted), and ``z`` its concept columns in float64, so that
    numeric values are not rounded to float32. ``V``, from ``wide``, a
    float64 buffer whose ones column and padding are already in place, is
    written piece by piece to stay in cache. The ``out.shape[1]`` columns
    from ``first`` on include those of ``z`` and of the weights.

    These columns, the co-moments with ``z`` and the column sums, decide the
    guarantee: the cross-covariance left after erasure is ``(I - P)`` times
    their error, while an error in the feature covariance only makes the
    eraser a little less than optimal. Summed in float32, a chunk's rows
    give them a relative error of about ``1e-7 / correlation``, which on
    the bundled datasets left up to 2.3e-6 of the cross-covariance (1.2e-5
    with ``method="orth"``, whose thin products are all this kind); the
    float32 products are exact in float64, so only the rounding of the data
    itself remains. The weights (float64, None for ones) are applied here
    exactly, not through their float32 square roots.
    """
    d = rows.shape[1]
    k = z.shape[1]
    step = wide.shape[0]
    for lo in range(0, rows.shape[0], step):
        part = wide[: min(step, rows.shape[0] - lo)]
        np.copyto(part[:, :d], rows[lo : lo + step])
        np.copyto(part[:, d : d + k], z[lo : lo + step])
        right = part[:, first : first + out.shape[1]]
        if weights is not None:
            right = right * weights[lo : lo + step, None]
        out += part.T @ right


def _rank_one_update(gram, root):
    """``gram[:p, :p] -= root root^T`` in place, one BLAS pass (p = len(root)).

    ``gram`` is a contiguous symmetric array; its other rows and columns
    (the weight's among them) are unchanged.
    """
    x = np.zeros(gram.shape[0])
    x[: root.shape[0]] = root
    target = gram if gram.flags.f_contiguous else gram.T
    blas.dger(-1.0, x, x, a=target, overwrite_a=1)


def merge_moments(xp, a, b):
    """Combine the moments of two disjoint batches (Chan et al. update).

    Both are full moments, or both cross moments.
    """
    if a is None:
        return b
    if a.cross != b.cross:
        raise ValueError("cannot merge full moments with cross moments")
    weight = a.weight + b.weight
    n_samples = a.n_samples + b.n_samples
    gram_eps = max(a.gram_eps, b.gram_eps)
    if b.weight == 0:
        return replace(a, n_samples=n_samples, gram_eps=gram_eps)
    if a.weight == 0:
        return replace(b, n_samples=n_samples, gram_eps=gram_eps)
    delta = b.mean - a.mean
    mean = a.mean + delta * (b.weight / weight)
    factor = a.weight * b.weight / weight
    # The columns the co-moments are kept for: all, or the last k (of z).
    columns = delta[delta.shape[0] - a.comoment.shape[1] :]
    comoment = a.comoment + b.comoment + (delta[:, None] * columns[None, :]) * factor
    diagonal = None
    if a.cross:
        diagonal = a.diagonal + b.diagonal + (delta * delta) * factor
    return Moments(n_samples, weight, mean, comoment, diagonal, gram_eps)


def embed_moments(xp, moments, positions, n_cols):
    """Re-index the columns of ``moments`` into a wider layout of ``n_cols``.

    Column ``i`` moves to ``positions[i]``; new columns get mean and co-moment
    zero. This is exact for a one-hot category first seen in a later batch:
    its indicator was 0 on every earlier row. For cross moments the feature
    columns must keep their positions (only concept columns move).
    """
    old = moments.mean.shape[0]
    select = np.zeros((old, n_cols))
    select[np.arange(old), np.asarray(positions)] = 1.0
    select = xp.asarray(select, dtype=xp.float64, device=_device(moments.mean))
    # The kept columns of the co-moments: all, or (cross) those of z, which
    # come after the d unmoved feature columns.
    d = old - moments.comoment.shape[1]
    columns = select[d:, d:]
    diagonal = None if moments.diagonal is None else moments.diagonal @ select
    return Moments(
        moments.n_samples,
        moments.weight,
        moments.mean @ select,
        select.T @ moments.comoment @ columns,
        diagonal,
        moments.gram_eps,
    )
