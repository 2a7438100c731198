"""Entry point of ``python -m leace_sklearn``: the ``leace-erase`` tool."""

import sys

from .cli import main

# The guard keeps pytest's --doctest-modules, which imports every module of
# the package, from running the tool and exiting.
if __name__ == "__main__":
    sys.exit(main(prog="python -m leace_sklearn"))
