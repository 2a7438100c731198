"""Entry point of ``python -m leace_sklearn``: the quick-start demo."""

import sys

from ._demo import main

# The guard keeps pytest's --doctest-modules, which imports every module of
# the package, from running the demo and exiting.
if __name__ == "__main__":
    sys.exit(main())
