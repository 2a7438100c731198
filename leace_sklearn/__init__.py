"""LEACE concept erasure for scikit-learn.

``leace_sklearn`` removes every linearly encoded trace of a concept from a
feature matrix with the least possible change to the data (Belrose et al.,
2023, arXiv:2306.03819).
"""

from ._transformer import LeaceTransformer
from .datasets import load_adult

__version__ = "0.1.0.dev0"

__all__ = ["LeaceTransformer", "load_adult", "__version__"]
