"""Typed errors of the fitting engine. All subclass ConfigError (a ValueError) so the CLI prints them cleanly."""

from __future__ import annotations

from ..config import ConfigError


class FitError(ConfigError):
    """Base class: a fit that cannot be done as asked; the message names the column, value or setting."""


class FitInputError(FitError):
    """Bad input data: missing column, NaN, non-positive value where a log is taken, too few points..."""


class UnfittableError(FitInputError):
    """The data hold too little to fit the law (no usable run, fewer points or distinct sizes than it needs, no
    start with a finite objective): a property of the sweep, not a mistake in the command. `scalinglab fit
    --if-unfittable record` writes it down instead of failing. `excluded`: {reason: [run ids]} of the runs left out."""

    def __init__(self, message, excluded=None):
        super().__init__(message)
        self.excluded = excluded or {}


class NonInteriorMinimumError(FitError):
    """IsoFLOP (approach 2): a budget's parabola has no minimum inside the sampled range of sizes."""

    def __init__(self, budget, message):
        super().__init__(message)
        self.budget = budget
