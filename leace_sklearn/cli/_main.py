"""``main``: parse the command line, run, turn errors into exit codes."""

import os
import sys
import time
import warnings

from ._adult import run_demo
from ._erase import run_file
from ._errors import DataError
from ._parser import build_parser, check_args


def main(argv=None, *, prog="leace-erase"):
    """Run the ``leace-erase`` command-line tool.

    With an input file, erases the ``--concept`` columns from the other
    columns (one-hot encoding the categorical ones), writes the result to
    ``--output`` and prints a before/after report. Without one, runs the
    demonstration on the bundled UCI Adult data. See :doc:`/cli` for every
    option.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name; None reads
        ``sys.argv[1:]``.

    prog : str, default="leace-erase"
        Program name in the help and at the start of error messages.

    Returns
    -------
    status : int
        0 on success, 1 for an error in the data or the files (the message
        goes to stderr). Invalid options raise :class:`SystemExit` with code
        2, as argparse does.

    Examples
    --------
    From a shell::

        leace-erase adult.csv --concept sex --exclude income -o erased.csv

    From Python, the same with a list of arguments; an error in the data
    is printed to stderr and gives status 1:

    >>> from leace_sklearn.cli import main
    >>> main(["no-such-file.csv", "--concept", "sex"])
    1
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    check_args(parser, args)
    start = time.perf_counter()
    # Warnings (a probe with few rows per fold, say) are shown as the tool's
    # own messages rather than with a library's file name and line number.
    with warnings.catch_warnings(record=True) as caught:
        try:
            if args.input is None:
                lines = run_demo(args)
                lines.append(f"finished in {time.perf_counter() - start:.1f} s")
                print("\n".join(lines))
            else:
                run_file(args, prog)
        except DataError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            # The reader went away (``leace-erase ... | head``); the files are
            # written. Python's own flush at exit would fail again, so stdout
            # is pointed at the null device, as the Python docs advise.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught):
                print(f"{prog}: warning: {message}", file=sys.stderr)
    return 0
