"""Measures of how much of a concept a representation still leaks.

Numbers that fairness toolkits such as fairlearn do not provide: how well a
linear probe recovers the concept (:func:`linear_probe_score`, to read
against :func:`chance_level`), the largest correlation between a feature and
the encoded concept (:func:`cross_covariance_score`, zero after LEACE), and a
scorer for model selection that measures either on a fitted pipeline
(:func:`make_leakage_scorer`).
"""

from ._cross_covariance import cross_covariance_score
from ._probe import chance_level, linear_probe_score
from ._scorer import make_leakage_scorer

__all__ = [
    "chance_level",
    "cross_covariance_score",
    "linear_probe_score",
    "make_leakage_scorer",
]
