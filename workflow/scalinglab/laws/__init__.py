"""Scaling laws: the `Law` type (law.py), the catalogue of one declarative object per law (catalogue.py) and
Chinchilla with its fused derivatives (chinchilla.py)."""

from .catalogue import EXPONENT_LIMIT, LAWS, get_law
from .chinchilla import CHINCHILLA, HOFFMANN_GRID
from .law import Law

__all__ = ["CHINCHILLA", "EXPONENT_LIMIT", "HOFFMANN_GRID", "LAWS", "Law", "get_law"]
