"""The command-line tool ``leace-erase`` (also ``python -m leace_sklearn``).

It erases a concept from the columns of a CSV, TSV or Parquet table and
reports how well a linear probe recovers the concept before and after; see
:doc:`/cli`. Reading and writing files needs the ``io`` extra
(``pip install "leace-sklearn[io]"``); the demonstration run on the bundled
Adult data, without an input file, needs only the core dependencies.
"""

from ._main import main

__all__ = ["main"]
