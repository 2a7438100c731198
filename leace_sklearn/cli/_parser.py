"""Command-line options of ``leace-erase`` and the checks between them.

Everything that can be judged from the command line alone is checked here
and reported through :meth:`argparse.ArgumentParser.error` (exit code 2);
what depends on the contents of the files is checked later (exit code 1).
"""

import argparse
import os
from pathlib import Path

from .. import __version__
from ._tables import SUFFIXES, table_format

# The rarest race group of Adult ("Other") is 0.8% of the rows; 1000 rows
# give it about 8 members, enough for each of 5 stratified folds to hold one.
MIN_DEMO_ROWS = 1000
# Enough rows for stable numbers, few enough for the demo's probes to run in
# seconds; --max-rows 32561 takes every training row.
DEMO_ROWS = 10_000
_FILE_OPTIONS = (
    ("concept", "--concept"),
    ("exclude", "--exclude"),
    ("categorical", "--categorical"),
    ("keep_concept", "--keep-concept"),
    ("output", "--output"),
    ("save_model", "--save-model"),
    ("quiet", "--quiet"),
)


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def build_parser(prog="leace-erase"):
    """The argument parser of the tool.

    Parameters
    ----------
    prog : str, default="leace-erase"
        Program name shown in the help and prefixed to error messages.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["in.csv", "--concept", "sex"])
    >>> args.input, args.concept, args.method, args.alpha
    ('in.csv', ['sex'], 'leace', 1.0)
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        # The input goes first: "--concept sex data.csv" would read the file
        # name as a second column name.
        usage="%(prog)s [input --concept COL [COL ...]] [options]",
        description=(
            "Erase a concept (for example a protected attribute) from the "
            "columns of a table with LEACE, so that no linear model can "
            "recover it, and report how well a linear probe recovers it "
            "before and after and how far the data moved. Without an input "
            "file, run a demonstration on the bundled UCI Adult data."
        ),
        epilog=(
            f"Example: {prog} data.csv --concept sex --exclude id income "
            "-o erased.csv --save-model eraser.skops. Put the input file "
            "before --concept, or the file name is read as a column name. "
            "Exit codes: 0 success, 1 data or file error, 2 usage error."
        ),
    )
    parser.add_argument(
        "input",
        nargs="?",
        help=f"table to erase ({', '.join(SUFFIXES[:4])}, or compressed CSV/TSV)",
    )
    files = parser.add_argument_group("columns and files")
    # action="extend": a repeated flag adds its columns (argparse would keep
    # only the last list, silently leaving the others unerased).
    files.add_argument(
        "--concept",
        nargs="+",
        action="extend",
        metavar="COL",
        help="column(s) holding the concept (the flag may be repeated)",
    )
    files.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns left out of erasure and copied unchanged (ids, labels)",
    )
    files.add_argument(
        "--categorical",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="numeric feature columns to one-hot encode as categories (codes)",
    )
    files.add_argument(
        "--min-frequency",
        type=_at_least(1),
        default=10,
        metavar="N",
        help="merge the levels of a categorical column seen in fewer than N "
        "rows into one column, <column>_infrequent_sklearn (default: "
        "%(default)s; 1 keeps every level)",
    )
    files.add_argument(
        "--keep-concept",
        action="store_true",
        help="copy the concept columns to the output (default: drop them)",
    )
    files.add_argument(
        "-o", "--output", metavar="PATH", help="where to write the erased table"
    )
    files.add_argument(
        "--save-model",
        metavar="PATH",
        help="save the fitted encoding + eraser pipeline to a .skops file",
    )
    eraser = parser.add_argument_group("eraser")
    eraser.add_argument(
        "--method",
        choices=("leace", "orth"),
        default="leace",
        help="leace (least change) or orth (orthogonal projection); "
        "default: %(default)s",
    )
    eraser.add_argument(
        "--alpha",
        type=_fraction,
        default=1.0,
        help="fraction of the edit applied, in [0, 1]; only 1 guarantees "
        "erasure (default: %(default)s)",
    )
    report = parser.add_argument_group("report")
    report.add_argument(
        "--cv",
        type=_at_least(2),
        default=5,
        metavar="K",
        help="folds of the probe's cross-validation (default: %(default)s)",
    )
    report.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the probe's folds and of the demo's row sample "
        "(default: %(default)s)",
    )
    report.add_argument(
        "--max-rows",
        type=_at_least(MIN_DEMO_ROWS),
        metavar="N",
        help=f"demo only: sample N rows of Adult (default {DEMO_ROWS}; 32561 "
        f"takes them all; at least {MIN_DEMO_ROWS})",
    )
    report.add_argument(
        "-q", "--quiet", action="store_true", help="skip the report, only write"
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def _unique(names):
    return list(dict.fromkeys(names))


def _same_file(a, b):
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    # Hard links resolve to different names but are the same file.
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_args(parser, args):
    """Check the options against each other; exit with code 2 if they clash.

    Also removes repeated column names from the column lists.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser whose ``error`` reports a problem.

    args : argparse.Namespace
        Parsed arguments; its column lists are de-duplicated in place.
    """
    if args.input is None:
        _check_demo_args(parser, args)
        return
    if not args.concept:
        parser.error("--concept is required with an input file")
    args.concept = _unique(args.concept)
    args.exclude = _unique(args.exclude)
    args.categorical = _unique(args.categorical)
    if args.max_rows is not None:
        parser.error("--max-rows applies only to the demo (without an input file)")
    both = [c for c in args.concept if c in args.exclude]
    if both:
        parser.error(f"columns both in --concept and --exclude: {both}")
    clash = [c for c in args.categorical if c in args.concept + args.exclude]
    if clash:
        parser.error(
            f"--categorical applies to feature columns, not to {clash} "
            "(listed in --concept or --exclude)"
        )
    paths = [("input", args.input), ("--output", args.output)]
    for option, path in paths:
        if path is not None and table_format(path) is None:
            parser.error(
                f"{option} {path!r}: unknown file type; use one of "
                f"{', '.join(SUFFIXES)}"
            )
    if args.output is not None and _same_file(args.input, args.output):
        parser.error(
            f"--output {args.output!r} is the input file; refusing to overwrite it"
        )
    _check_model_path(parser, args)


def _check_model_path(parser, args):
    path = args.save_model
    if path is None:
        return
    if not path.lower().endswith(".skops"):
        parser.error(f"--save-model {path!r}: the file name must end in .skops")
    for option, other in (("the input file", args.input), ("--output", args.output)):
        if other is not None and _same_file(path, other):
            parser.error(f"--save-model {path!r} is {option}; refusing to overwrite")


def _check_demo_args(parser, args):
    given = [opt for name, opt in _FILE_OPTIONS if getattr(args, name)]
    if not given:
        return
    # "--concept sex data.csv" reads the file name as a second column name.
    for column in (args.concept or []) + args.exclude + args.categorical:
        if table_format(column) is not None:
            parser.error(
                f"{column!r} was read as a column name; put the input file "
                f"first: {parser.prog} {column} --concept ..."
            )
    verb = "needs" if len(given) == 1 else "need"
    parser.error(
        f"{', '.join(given)} {verb} an input file; without one the tool runs "
        "its demo on the bundled Adult data"
    )
