"""LEACE concept erasure for scikit-learn.

``leace_sklearn`` removes every linearly encoded trace of a concept from a
feature matrix with the least possible change to the data (Belrose et al.,
2023, arXiv:2306.03819).
"""

# Set before the imports below: the estimator records it when pickled.
__version__ = "0.1.0.dev0"

from ._transformer import InconsistentVersionWarning, LeaceTransformer  # noqa: E402
from .datasets import load_adult  # noqa: E402

__all__ = [
    "InconsistentVersionWarning",
    "LeaceTransformer",
    "load_adult",
    "__version__",
]
