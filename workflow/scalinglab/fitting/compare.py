"""Comparing laws: information criteria of one fit, and ranking laws by their extrapolation backtest."""

from __future__ import annotations

import math

import numpy as np

from ..laws import LAWS, get_law
from .errors import FitError
from .prepare import x_list


def information_criteria(resid: np.ndarray, n_params: int) -> dict:
    """Gaussian AIC and BIC of log residuals: n log(RSS/n) + 2k, n log(RSS/n) + k log n."""
    n = resid.size
    term = n * math.log(max(float(np.sum(resid**2)) / n, 1e-300))
    return {"aic": term + 2 * n_params, "bic": term + n_params * math.log(n)}


def rank_laws(data, x, y, laws=None, holdout=1, **settings):
    """Fit each law (no bootstrap) and rank by backtest RMS log error on the `holdout` largest x values.

    Returns a list of {law, rms_log_error, rms_log_residual, aic, bic, objective, error?}, best first;
    laws that cannot be fitted (wrong number of inputs, failed fit) come last with an `error`."""
    from .fit import fit

    names = laws or [n for n, law in LAWS.items() if len(law.inputs) == len(x_list(x))]
    rows = []
    for name in names:
        law = get_law(name)
        try:
            result = fit(data, law, x, y, **{**settings, "bootstrap": 0, "holdout": holdout})
        except FitError as error:
            rows.append({"law": law.name, "rms_log_error": None, "error": str(error)})
            continue
        bt = result.backtest
        rows.append(
            {
                "law": law.name,
                "rms_log_error": bt.get("rms_log_error"),
                "rms_log_residual": result.rms_log_residual,
                "aic": result.aic,
                "bic": result.bic,
                "objective": result.objective,
                **({"error": bt["skipped"]} if "skipped" in bt else {}),
            }
        )
    rows.sort(key=lambda r: math.inf if r["rms_log_error"] is None else r["rms_log_error"])
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows
