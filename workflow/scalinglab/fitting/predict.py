"""Evaluating a fit: the law at new inputs, with the bootstrap interval of the fitted curve."""

from __future__ import annotations

import numpy as np

from . import table as tbl
from .bootstrap import MIN_DRAWS
from .errors import FitInputError
from .result import FitResult


def parse_point(spec: str, option: str) -> dict:
    """'N=1e9,D=2e10' -> {"N": 1e9, "D": 2e10}; errors name the command-line `option` the spec came from."""
    values = {}
    for part in spec.split(","):
        if "=" not in part:
            raise FitInputError(f"{option} {spec!r}: expected COL=VALUE[,COL=VALUE]")
        k, v = part.split("=", 1)
        try:
            values[k.strip()] = float(v)
        except ValueError:
            raise FitInputError(f"{option} {spec!r}: {v!r} is not a number") from None
    return values


def map_inputs(values: dict, x_cols, law) -> dict:
    """Accept either the fit's x column names or the law's input names."""
    out = {}
    for col, inp in zip(x_cols, law.inputs):
        if col in values:
            out[col] = values[col]
        elif inp in values:
            out[col] = values[inp]
        else:
            raise FitInputError(f"missing value for x column {col!r} (law input {inp!r}); got {', '.join(values)}")
    return out


def predict(fit_result, at, ci=None, intervals=True):
    """Predict y at `at` ({x column or law input: value or array}) with bootstrap percentile intervals
    (intervals=False: the point prediction only, NaN intervals).

    Returns {"x": {col: array}, "value": array, "interval": (lo array, hi array), "ci": ci}."""
    if not isinstance(fit_result, FitResult):
        from .persist import load_fit

        fit_result = load_fit(fit_result)
    law = fit_result.law
    ci = fit_result.ci if ci is None else float(ci)
    values = map_inputs(at, fit_result.x, law)
    arrays = np.broadcast_arrays(*[np.atleast_1d(np.asarray(values[c], dtype=float)) for c in fit_result.x])
    X = np.stack(arrays)
    for col, row, positive in zip(fit_result.x, X, law.input_is_logged):
        tbl.check_values(row, col, positive)
    value = law.predict(fit_result.theta[None, :], X)[0]
    lo = hi = np.full_like(value, np.nan)
    boot = fit_result.boot_natural
    if intervals and boot.size:
        with np.errstate(all="ignore"):
            preds = law.predict(law.from_natural(boot), X)
        good = np.all(np.isfinite(preds), axis=1)
        if good.sum() >= MIN_DRAWS:
            lo, hi = np.percentile(preds[good], [50 * (1 - ci), 100 - 50 * (1 - ci)], axis=0)
    return {"x": dict(zip(fit_result.x, arrays)), "value": value, "interval": (lo, hi), "ci": ci}
