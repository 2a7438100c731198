"""Reading and writing tables (CSV, TSV, Parquet) with pandas.

The format is chosen by the file name's extension. Nothing here can run code
stored in a file: CSV and Parquet hold data only, and pickle is never used.
"""

from pathlib import Path

from ._errors import DataError, import_optional

# Compression pandas infers from the name; "data.csv.gz" is a gzipped CSV.
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
SUFFIXES = tuple(_FORMATS) + tuple(
    f"{s}{c}" for s in (".csv", ".tsv") for c in _COMPRESSION
)


def table_format(path):
    """Format of a table file from its name: "csv", "tsv", "parquet" or None.

    Parameters
    ----------
    path : str or path-like
        File name; only its extensions are looked at.

    Returns
    -------
    fmt : str or None
        None when the extension is not one of :data:`SUFFIXES`.

    Examples
    --------
    >>> table_format("data.csv.gz"), table_format("x.PQ"), table_format("x.xlsx")
    ('csv', 'parquet', None)
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
        if suffixes and _FORMATS.get(suffixes[-1]) == "parquet":
            return None
    return _FORMATS.get(suffixes[-1]) if suffixes else None


def _exact_floats():
    """read_csv option for floats read back exactly as written.

    pandas 3 parses them exactly by default and deprecates the option.
    """
    import pandas as pd

    major = int(pd.__version__.split(".")[0])
    return {} if major >= 3 else {"float_precision": "round_trip"}


def check_packages(path, action):
    """Import the optional packages that reading or writing ``path`` needs.

    Parameters
    ----------
    path : str or path-like
        A table file name with one of :data:`SUFFIXES`.

    action : {"reading", "writing"}
        What is done with it, for the message.

    Returns
    -------
    pandas : module

    Raises
    ------
    DataError
        When one is missing, saying how to install it.

    Examples
    --------
    >>> check_packages("data.csv", "reading").__name__
    'pandas'
    """
    fmt = table_format(path)
    pd = import_optional("pandas", f"{action} {fmt.upper()} files")
    if fmt == "parquet":
        import_optional("pyarrow", f"{action} Parquet files")
    if str(path).lower().endswith(".zst"):
        # pandas reads Zstandard only through this package, which no extra
        # pulls in.
        import_optional("zstandard", f"{action} .zst files", "pip install zstandard")
    return pd


def read_table(path):
    """Read a CSV, TSV or Parquet file into a DataFrame.

    Raises
    ------
    DataError
        When the file cannot be read or parsed, or holds no rows.
    """
    fmt = table_format(path)
    pd = check_packages(path, "reading")
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path, engine="pyarrow")
        else:
            sep = "\t" if fmt == "tsv" else ","
            frame = pd.read_csv(path, sep=sep, **_exact_floats())
    except FileNotFoundError as exc:
        raise DataError(f"cannot read {path}: no such file.") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty: it has no header and no rows.") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        # Parser errors, Arrow errors and bad encodings are ValueErrors.
        raise DataError(f"cannot read {path}: {exc}") from exc
    if frame.shape[0] == 0:
        raise DataError(f"{path} has no rows (columns: {_names(frame.columns)}).")
    return frame


def write_table(frame, path):
    """Write a DataFrame to CSV, TSV or Parquet, without its index.

    Raises
    ------
    DataError
        When the file cannot be written.
    """
    fmt = table_format(path)
    check_packages(path, "writing")
    try:
        if fmt == "parquet":
            frame.to_parquet(path, engine="pyarrow", index=False)
        else:
            frame.to_csv(path, sep="\t" if fmt == "tsv" else ",", index=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot write {path}: {exc}") from exc


def _names(columns):
    return ", ".join(repr(str(c)) for c in columns) or "none"
