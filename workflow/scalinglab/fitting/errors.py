"""Typed errors of the fitting engine. All subclass ConfigError (a ValueError) so the CLI prints them cleanly."""

from __future__ import annotations

from ..config import ConfigError


class FitError(ConfigError):
    """Base class: a fit that cannot be done as asked; the message names the column, value or setting."""


class FitInputError(FitError):
    """Bad input data: missing column, NaN, non-positive value where a log is taken, too few points..."""


class NotEnoughDataError(FitInputError):
    """Too few usable rows for the law once filters and exclusions (runs that diverged or failed) are applied: the
    sweep cannot be fitted as it stands. `excluded` counts the rows left out, by reason."""

    def __init__(self, message: str, excluded: dict | None = None):
        super().__init__(message)
        self.excluded = dict(excluded or {})


class NonInteriorMinimumError(FitError):
    """IsoFLOP (approach 2): a budget's parabola has no minimum inside the sampled range of sizes."""

    def __init__(self, budget, message):
        super().__init__(message)
        self.budget = budget
