"""The data error of the command-line tool and its optional imports."""

import importlib

INSTALL_IO = 'pip install "leace-sklearn[io]"'


class DataError(Exception):
    """A problem with the input data or the files, reported with exit code 1.

    Usage errors (bad options) go through :meth:`argparse.ArgumentParser.error`
    instead, which exits with code 2.
    """


def import_optional(name, purpose, install=INSTALL_IO):
    """Import module ``name``, or raise DataError telling how to install it.

    Parameters
    ----------
    name : str
        Module to import, e.g. ``"pandas"``.

    purpose : str
        What the module is needed for, completing "... needs <name>".

    install : str, default='pip install "leace-sklearn[io]"'
        The command that installs it.

    Returns
    -------
    module : module
        The imported module.

    Examples
    --------
    >>> import_optional("math", "arithmetic").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise DataError(
            f"{purpose} needs {name}, which is not installed; install it "
            f"with: {install}"
        ) from exc
