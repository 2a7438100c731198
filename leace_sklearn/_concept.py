"""Turning a concept (labels, attributes, numbers) into the matrix ``Z``.

The rule is by dtype, so that it is the same in every ``partial_fit`` batch:
a floating column is used as a number; any other column (integers, bools,
strings, objects, pandas categoricals) is one-hot encoded with its sorted
unique values as classes. A category first seen in a later batch is inserted
into the layout; earlier rows had indicator 0, so the statistics stay exact.
"""

import warnings
from numbers import Number

import numpy as np

from ._leace import is_varying

# A float column with at most this many distinct integer values looks like a
# label stored as float (e.g. codes in a float array); encoded as one number,
# a multiclass label is only partly erased, so the user is warned.
LABEL_LIKE_MAX_VALUES = 20

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def _is_pandas(obj, name):
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == name


def _is_polars(obj, name):
    return type(obj).__module__.startswith("polars") and type(obj).__name__ == name


def _columns(concept):
    """Split a 1-D or 2-D concept into 1-D NumPy columns; report the ndim."""
    # polars columns convert one by one without pandas or pyarrow: strings
    # and categoricals become object arrays, integers with nulls float NaN.
    if _is_polars(concept, "DataFrame"):
        return [s.to_numpy() for s in concept.iter_columns()], 2
    if _is_polars(concept, "Series"):
        return [concept.to_numpy()], 1
    if _is_pandas(concept, "DataFrame"):
        cols = [_series_values(concept.iloc[:, j]) for j in range(concept.shape[1])]
        return cols, 2
    if _is_pandas(concept, "Series"):
        return [_series_values(concept)], 1
    arr = np.asarray(concept)
    if arr.dtype.kind == "c":
        raise TypeError("concept must be real-valued or categorical, got complex.")
    if arr.ndim == 0:
        raise ValueError("concept must be 1-D or 2-D, got a scalar.")
    if arr.ndim == 1:
        return [arr], 1
    if arr.ndim == 2:
        return [arr[:, j] for j in range(arr.shape[1])], 2
    raise ValueError(f"concept must be 1-D or 2-D, got an array of shape {arr.shape}.")


def _series_values(series):
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        values = np.asarray(series.astype(object))
    elif pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        if series.isna().any():
            values = series.to_numpy(dtype=object)
        else:
            values = series.to_numpy()
    else:
        values = series.to_numpy(dtype=object)
    return values


def _kind(values):
    if values.dtype.kind == "f":
        return NUMERIC
    if values.dtype.kind == "c":
        raise TypeError("concept must be real-valued or categorical, got complex.")
    return CATEGORICAL


def _warn_if_label_like(values, j):
    """Warn when a numeric column looks like integer class codes."""
    if values.size == 0 or not np.all(np.isfinite(values)):
        return
    if not np.array_equal(values, np.round(values)):
        return
    n_values = len(np.unique(values))
    # Two values span the same direction encoded either way.
    if 2 < n_values <= LABEL_LIKE_MAX_VALUES:
        warnings.warn(
            f"concept column {j} holds floats with only {n_values} distinct "
            "integer values; it is erased as one number (its linear trend), "
            f"not as {n_values} classes, so a linear probe may still tell the "
            "classes apart. If it is a label, pass it as integers or strings "
            "(e.g. concept=z.astype(int)); if it is a quantity, ignore this "
            "warning.",
            UserWarning,
            stacklevel=7,
        )


def _has_missing(values):
    if values.dtype.kind == "f":
        return not bool(np.isfinite(values).all())
    if values.dtype.kind != "O":
        return False
    try:
        import pandas as pd

        return bool(pd.isna(values).any())
    except ImportError:
        return any(v is None or v != v for v in values)


def _families(classes):
    """Whether ``classes`` hold text, numbers (bools count), or both."""
    kind = classes.dtype.kind
    if kind != "O":
        return {"text"} if kind in "US" else {"number"} if kind in "iubf" else set()
    found = set()
    for value in classes:
        if isinstance(value, (str, bytes, np.str_, np.bytes_)):
            found.add("text")
        elif isinstance(value, (Number, np.number, np.bool_)):
            found.add("number")
    return found


def _check_same_family(old, new):
    """Refuse to merge text categories with number ones across batches.

    NumPy would convert one to the other (int 1 and "1" becoming one class),
    while a single batch holding both is refused as not comparable.
    """
    before, now = _families(old), _families(new)
    for this, earlier in (("text", "number"), ("number", "text")):
        if this in now and earlier in before:
            raise TypeError(
                f"this batch has {this} categories but earlier batches had "
                f"{earlier} ones"
            )


def _unique(values):
    """``np.unique(values, return_inverse=True)``, by counting for small ints."""
    if values.dtype.kind in "iub" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * values.size + 1024:
            # Subtracted in 64 bits of the values' own signedness: a uint64
            # beyond the int64 range would overflow a conversion to intp, and
            # a difference could overflow a narrow dtype.
            wide = np.uint64 if values.dtype.kind == "u" else np.int64
            base = values.astype(wide, copy=False)
            if lo == 0 and values.dtype == np.intp:
                shifted = values  # codes 0..k-1 already (only read below)
            else:
                shifted = (base - base.dtype.type(lo)).astype(np.intp)
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            offsets = np.flatnonzero(present).astype(base.dtype)
            classes = (offsets + base.dtype.type(lo)).astype(values.dtype)
            if offsets.shape[0] == present.shape[0]:
                return classes, shifted  # every value present: codes as is
            lookup = np.cumsum(present) - 1
            return classes, lookup[shifted]
    classes, codes = np.unique(values, return_inverse=True)
    return classes, codes.ravel()


class EncodedConcept:
    """One batch of the concept, written into the statistics' buffer on demand.

    Categorical columns are kept as integer codes and numeric ones as float64
    values, so the one-hot matrix never exists beyond one chunk. They are
    NumPy arrays, or arrays of another namespace after :meth:`to`.

    Attributes
    ----------
    n_columns : int
        Number of encoded columns ``k``.
    numeric : array of bool of shape (k,)
        True for numeric columns, the only ones shifted: an indicator is
        exact in any float dtype and needs no shift.
    """

    def __init__(self, encoded, widths, kinds, xp=None):
        self._encoded = encoded
        self._widths = widths
        self._kinds = kinds
        self._xp = xp
        self.n_columns = int(sum(widths))
        self.numeric = np.concatenate(
            [np.full(w, k == NUMERIC) for w, k in zip(widths, kinds, strict=True)]
        )

    def to(self, xp, device):
        """The same batch with its arrays in namespace ``xp`` on ``device``."""
        # Copied: the codes may be the caller's own (read-only) array.
        moved = [
            xp.asarray(
                v,
                dtype=xp.float64 if k == NUMERIC else xp.int64,
                device=device,
                copy=True,
            )
            for v, k in zip(self._encoded, self._kinds, strict=True)
        ]
        new = EncodedConcept(moved, self._widths, self._kinds, xp)
        new.numeric = xp.asarray(self.numeric, device=device)
        return new

    def rows(self, start, stop):
        """The rows ``start:stop`` of the batch."""
        new = EncodedConcept(
            [v[start:stop] for v in self._encoded], self._widths, self._kinds, self._xp
        )
        new.numeric = self.numeric
        return new

    def head_mean(self, rows):
        """Mean of the first ``rows`` rows (0 for indicator columns)."""
        if self._xp is not None:
            xp, device = self._xp, self.numeric.device
            parts = [
                xp.mean(v[:rows], axis=0, keepdims=True)
                if k == NUMERIC
                else xp.zeros(w, dtype=xp.float64, device=device)
                for v, w, k in zip(
                    self._encoded, self._widths, self._kinds, strict=True
                )
            ]
            return xp.concat(parts)
        parts = []
        for values, width, kind in zip(
            self._encoded, self._widths, self._kinds, strict=True
        ):
            if kind == NUMERIC:
                parts.append([float(np.mean(values[:rows]))])
            else:
                parts.append(np.zeros(width))
        return np.concatenate(parts)

    def fill(self, start, stop, out, shift):
        """Write rows ``start:stop`` of ``Z - shift`` into ``out``."""
        col = 0
        for values, width, kind in zip(
            self._encoded, self._widths, self._kinds, strict=True
        ):
            dest = out[:, col : col + width]
            if self._xp is not None:
                xp = self._xp
                if kind == NUMERIC:
                    dest[...] = values[start:stop, None] - shift[col]
                else:
                    classes = xp.arange(width, device=self.numeric.device)
                    dest[...] = xp.astype(
                        values[start:stop, None] == classes[None, :], dest.dtype
                    )
            elif kind == NUMERIC:
                np.subtract(values[start:stop, None], shift[col], out=dest)
            else:
                # Zeroing and scattering one 1 per row beats comparing every
                # row with every class (1.5x for 2 classes, 3x for 10), and
                # writes straight into a strided view (a chunk's columns in
                # the Gram buffer).
                dest[...] = 0
                dest[np.arange(stop - start), values[start:stop]] = 1
            col += width

    def dense(self):
        """The whole ``Z`` as a float64 array (for tests and small data)."""
        out = np.empty((len(self._encoded[0]), self.n_columns))
        self.fill(0, out.shape[0], out, np.zeros(self.n_columns))
        return out


class ConceptEncoder:
    """Encodes concept batches consistently across ``partial_fit`` calls.

    Attributes
    ----------
    kinds : list of str
        ``"numeric"`` or ``"categorical"`` per concept column.
    classes : list of ndarray or None
        Sorted classes of each categorical column (None for numeric).
    ndim : int
        1 or 2, the dimensionality of the concept as the user passed it.
    """

    def __init__(self):
        self.kinds = None
        self.classes = None
        self.ndim = None

    @property
    def widths(self):
        return [1 if c is None else len(c) for c in self.classes]

    @property
    def n_columns(self):
        return int(sum(self.widths))

    def offsets(self):
        return np.concatenate([[0], np.cumsum(self.widths)]).astype(int)

    def update(self, concept, n_samples):
        """Validate and encode one batch.

        Returns
        -------
        new : ConceptEncoder
            The encoder after this batch (``self`` is left unchanged).
        encoded : EncodedConcept
            Writes rows of ``Z`` for the statistics.
        positions : ndarray of int or None
            Where the previous layout's columns sit in the new one, or None
            when the layout did not change.
        """
        columns, ndim = _columns(concept)
        for values in columns:
            if values.shape[0] != n_samples:
                raise ValueError(
                    f"concept has {values.shape[0]} rows but X has {n_samples} "
                    "samples; they must match."
                )
        if not columns:
            raise ValueError("concept has no columns.")
        kinds = [_kind(v) for v in columns]
        if self.kinds is not None:
            if ndim != self.ndim or len(kinds) != len(self.kinds):
                raise ValueError(
                    f"concept has {len(kinds)} column(s) (ndim={ndim}) but earlier "
                    f"batches had {len(self.kinds)} (ndim={self.ndim})."
                )
            for j, (new, old) in enumerate(zip(kinds, self.kinds, strict=True)):
                if new != old:
                    raise ValueError(
                        f"concept column {j} is {new} in this batch but was {old} "
                        "in earlier batches; pass the same dtype every time "
                        "(float means numeric, anything else categorical)."
                    )
        for j, values in enumerate(columns):
            if _has_missing(values):
                raise ValueError(
                    f"concept column {j} contains NaN, infinity or None; drop or "
                    "impute those rows first."
                )
        if self.kinds is None:
            for j, (values, kind) in enumerate(zip(columns, kinds, strict=True)):
                if kind == NUMERIC:
                    _warn_if_label_like(values, j)

        encoded, classes = [], []
        old_classes = self.classes or [None] * len(columns)
        for values, kind, old in zip(columns, kinds, old_classes, strict=True):
            if kind == NUMERIC:
                encoded.append(values.astype(np.float64, copy=False))
                classes.append(None)
                continue
            try:
                batch_classes, codes = _unique(values)
                if old is not None:
                    _check_same_family(old, batch_classes)
                merged = (
                    batch_classes if old is None else np.union1d(old, batch_classes)
                )
            except TypeError as exc:
                raise TypeError(
                    "concept values of a categorical column must be mutually "
                    f"comparable (e.g. all str or all int): {exc}"
                ) from None
            if old is None:  # merged is batch_classes: the codes are final
                encoded.append(codes.ravel())
            else:
                encoded.append(np.searchsorted(merged, batch_classes)[codes.ravel()])
            classes.append(merged)

        new = ConceptEncoder()
        new.kinds, new.classes, new.ndim = kinds, classes, ndim
        positions = None
        if self.classes is not None and new.widths != self.widths:
            parts = []
            for off, old, cur in zip(
                new.offsets()[:-1], self.classes, classes, strict=True
            ):
                if cur is None:
                    parts.append([off])
                else:
                    parts.append(off + np.searchsorted(cur, old))
            positions = np.concatenate(parts).astype(int)

        return new, EncodedConcept(encoded, new.widths, kinds), positions

    def erased_columns(self, mean, variance):
        """Encoded columns whose span is erased.

        One one-hot column per categorical attribute, that of its most
        frequent class, is left out: it is minus the sum of the others once
        centred, so the span is unchanged, and leaving it in would only add
        a singular value that is zero up to rounding. Constant columns carry
        no concept and are left out too.
        """
        keep = []
        for off, cls in zip(self.offsets()[:-1], self.classes, strict=True):
            width = 1 if cls is None else len(cls)
            cols = np.arange(off, off + width)
            if cls is not None:
                cols = np.delete(cols, int(np.argmax(mean[cols])))
            keep.extend(cols[is_varying(variance[cols], mean[cols])].tolist())
        return keep

    def classes_attribute(self):
        """The public ``classes_``: array (1-D concept) or list (2-D)."""
        if self.ndim == 1:
            return self.classes[0]
        return list(self.classes)
