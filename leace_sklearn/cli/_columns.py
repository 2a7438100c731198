"""Which columns of a table are features, concept or copied through.

A feature column is numeric (integers, floats, booleans) unless it holds
text, a pandas categorical, or is named in ``--categorical``; numeric columns
are erased as they are, the others are one-hot encoded first. Missing values
are not guessed at: they are an error that names the columns.
"""

from dataclasses import dataclass

import numpy as np

from ._errors import DataError

# A text column with more levels than this, and than half the rows, looks like
# an identifier, which is usually meant to be copied through, not erased.
_MANY_LEVELS = 100


@dataclass(frozen=True)
class Columns:
    """The roles of a table's columns, each list in the table's order."""

    features: list
    categorical: list
    concept: list
    exclude: list


def _rows(count):
    return f"{count} row" if count == 1 else f"{count} rows"


def _listing(names):
    return ", ".join(repr(n) for n in names)


def _check_present(names, requested, source):
    missing = [
        f"{option} {name!r}"
        for option, cols in requested.items()
        for name in cols
        if name not in names
    ]
    if missing:
        raise DataError(
            f"no such column in {source}: {'; '.join(missing)}. "
            f"Its columns are: {_listing(names)}."
        )


def _kind(pd, name, series, forced):
    dtype = series.dtype
    if name in forced:
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    ):
        return "numeric"
    if (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    ):
        return "categorical"
    raise DataError(
        f"feature column {name!r} has dtype {dtype}, which is neither numeric nor "
        "text; convert it to numbers, or copy it through unchanged with "
        f"--exclude {name}."
    )


def _bad_values(pd, frame, names, numeric):
    """``{column: count}`` of missing values (and infinities if numeric)."""
    counts = {}
    for name in names:
        series = frame[name]
        bad = series.isna()
        if numeric and name in numeric and not pd.api.types.is_bool_dtype(series):
            bad |= np.isinf(series.to_numpy(dtype=np.float64, na_value=np.nan))
        if bad.any():
            counts[name] = int(bad.sum())
    return counts


def split_columns(frame, *, concept, exclude, categorical, source):
    """Sort the columns of ``frame`` into features, concept and excluded.

    Parameters
    ----------
    frame : pandas.DataFrame
        The input table.

    concept, exclude, categorical : list of str
        Column names given to ``--concept``, ``--exclude`` and
        ``--categorical``.

    source : str
        Name of the table in error messages (its file name).

    Returns
    -------
    columns : Columns
        The feature columns (every column neither concept nor excluded), the
        categorical ones among them, and the concept and excluded columns.

    Raises
    ------
    DataError
        If a named column is absent, no feature column is left, a feature has
        an unsupported dtype or a missing or infinite value, or a concept
        column has missing values or a single value.
    """
    import pandas as pd

    names = [str(c) for c in frame.columns]
    _check_present(
        names,
        {"--concept": concept, "--exclude": exclude, "--categorical": categorical},
        source,
    )
    features = [n for n in names if n not in concept and n not in exclude]
    if not features:
        raise DataError(
            f"no feature columns are left in {source} once the concept and "
            "excluded columns are set aside; there is nothing to erase."
        )
    kinds = {n: _kind(pd, n, frame[n], set(categorical)) for n in features}
    numeric = {n for n, k in kinds.items() if k == "numeric"}
    bad = _bad_values(pd, frame, features, numeric)
    if bad:
        counts = ", ".join(f"{n!r} ({_rows(c)})" for n, c in bad.items())
        raise DataError(
            f"feature columns of {source} have missing or infinite values: "
            f"{counts}. Impute them first (for example the median of a numeric "
            'column, or a placeholder category such as "missing"), drop those '
            "rows, or copy the columns through unchanged with --exclude."
        )
    _check_concept(frame, concept, source)
    return Columns(
        features=features,
        categorical=[n for n in features if n not in numeric],
        concept=list(concept),
        exclude=[n for n in names if n in exclude],
    )


def _check_concept(frame, concept, source):
    for name in concept:
        series = frame[name]
        if series.isna().any():
            raise DataError(
                f"concept column {name!r} of {source} has missing values in "
                f"{_rows(int(series.isna().sum()))}; drop those rows or fill them."
            )
        values = series.unique()
        if len(values) < 2:
            raise DataError(
                f"concept column {name!r} of {source} has a single value "
                f"('{values[0]}'): there is nothing to erase."
            )


def many_levels(frame, categorical):
    """Warnings for categorical columns that look like identifiers.

    Returns
    -------
    warnings : list of str
        One message per column with more than 100 levels and more levels
        than half the number of rows.
    """
    messages = []
    for name in categorical:
        n_levels = frame[name].nunique()
        if n_levels > max(_MANY_LEVELS, frame.shape[0] // 2):
            messages.append(
                f"column {name!r} has {n_levels} distinct values in "
                f"{frame.shape[0]} rows; if it is an identifier, copy it "
                f"through with --exclude {name}."
            )
    return messages
