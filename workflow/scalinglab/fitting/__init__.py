"""The law-fitting engine: multi-start summed-Huber fits vectorised across starts, bootstrap intervals, information
criteria, extrapolation backtests, law comparison, prediction and compute-optimal allocation (approaches 2 and 3).

Modules, one job each: ``prepare`` (table -> arrays, exclusions, levels), ``optimize`` (the batched Newton optimiser
and its Status codes), ``multistart`` (the point fit: racing, finishing, the racing check), ``identify`` (bounds hit,
weak identification), ``bootstrap`` (resampling, refits, basin check, intervals), ``backtest``, ``compare``
(information criteria, ranking), ``allocation``, ``predict`` (confidence and prediction intervals, extrapolation),
``result`` and ``persist`` (the fit JSON), ``workers`` (independent refits side by side in forked processes), and
``fit`` which runs them in order. Around a fit: ``envelope`` (the best grid value per (size, budget) cell),
``approaches`` (approach 2 against approach 3, in the fit JSON), ``targets`` (a target's prediction file and its
score), ``accuracy`` (the two-step accuracy: a sigmoid link from loss) and ``plan`` (which runs narrow a target's
prediction most per FLOP).

Library API::

    from scalinglab.fitting import fit, predict, load_fit
    result = fit(table, "chinchilla", x="N,D", y="loss", bootstrap=1000, drop_top_y=5)
    result.to_dict()            # the fit JSON (docs/fit-json.md)
    predict(result, {"N": 1e9, "D": 2e10})
"""

from .allocation import compute_optimal, isoflop
from .backtest import backtest
from .compare import rank_laws
from .errors import FitError, FitInputError, NonInteriorMinimumError, UnfittableError
from .fit import DEFAULTS, fit
from .persist import load_fit
from .predict import predict
from .result import FitResult

__all__ = [
    "DEFAULTS",
    "FitError",
    "FitInputError",
    "FitResult",
    "NonInteriorMinimumError",
    "UnfittableError",
    "backtest",
    "compute_optimal",
    "fit",
    "isoflop",
    "load_fit",
    "predict",
    "rank_laws",
]
