"""Concept erasers that are not packaged, written from their papers.

They serve as baselines for ``benchmarks/compare.py`` and are not part of
the library: :class:`INLP` (Ravfogel et al., 2020) and :class:`RLACE`
(Ravfogel et al., 2022).
"""

from .inlp import INLP
from .rlace import RLACE

__all__ = ["INLP", "RLACE"]
