"""Ranking laws by their extrapolation backtest (Alabdulmohsin et al. 2022), with AIC/BIC alongside."""

from __future__ import annotations

import math

from ..laws import LAWS, get_law
from .errors import FitError


def rank_laws(data, x, y, laws=None, holdout=1, **settings):
    """Fit each law (no bootstrap) and rank by backtest RMS log error on the `holdout` largest x values.

    Returns a list of {law, rms_log_error, rms_log_residual, aic, bic, objective, error?}, best first;
    laws that cannot be fitted (wrong number of inputs, failed fit) come last with an `error`."""
    from .core import fit

    names = laws or [n for n, law in LAWS.items() if len(law.inputs) == len(x.split(",") if isinstance(x, str) else x)]
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
    rows.sort(
        key=lambda r: (r["rms_log_error"] is None, r["rms_log_error"] if r["rms_log_error"] is not None else math.inf)
    )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows
