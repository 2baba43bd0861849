"""The law-fitting engine: multi-start summed-Huber fits vectorised across starts, bootstrap intervals, AIC/BIC,
extrapolation backtests, law ranking and compute-optimal allocation (approaches 2 and 3).

Library API::

    from scalinglab.fitting import fit, predict, load_fit
    result = fit(table, "chinchilla", x="N,D", y="loss", bootstrap=1000, drop_top_y=5)
    result.to_dict()            # the fit JSON (docs/fit-json.md)
    predict(result, {"N": 1e9, "D": 2e10})
"""

from .allocation import compute_optimal, isoflop
from .core import DEFAULTS, FitResult, backtest, fit, load_fit, predict
from .errors import FitError, FitInputError, NonInteriorMinimumError
from .ranking import rank_laws

__all__ = [
    "DEFAULTS",
    "FitError",
    "FitInputError",
    "FitResult",
    "NonInteriorMinimumError",
    "backtest",
    "compute_optimal",
    "fit",
    "isoflop",
    "load_fit",
    "predict",
    "rank_laws",
]
