"""Datasets bundled with leace_sklearn."""

from ._adult import load_adult

__all__ = ["load_adult"]
