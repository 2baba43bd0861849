"""Extrapolation backtest (Alabdulmohsin et al. 2022): refit without the largest sizes, score the held-out ones."""

from __future__ import annotations

import numpy as np

from ..laws import get_law
from .errors import FitError
from .multistart import point_fit


def backtest(law, X, y, holdout, settings):
    """Fit on all but the `holdout` largest distinct values of the first x column; RMS log error on the rest."""
    law = get_law(law)
    k = int(holdout)
    if k <= 0:
        return {"holdout": 0, "skipped": "holdout is 0"}
    distinct = np.unique(X[0])
    if distinct.size - k < 2:
        return {"holdout": k, "skipped": f"only {distinct.size} distinct x values; need at least {k + 2}"}
    cut = distinct[-k]
    train = X[0] < cut
    if train.sum() < law.n_params:
        return {"holdout": k, "skipped": f"{int(train.sum())} training points < {law.n_params} parameters"}
    try:
        theta, *_ = point_fit(law, X[:, train], y[train], settings)
    except FitError as error:
        return {"holdout": k, "skipped": f"fit on the smaller x failed: {error}"}
    err = law.log_predict(theta[None, :], X)[0] - np.log(y)
    return {
        "holdout": k,
        "held_out_x_min": float(cut),
        "n_train": int(train.sum()),
        "n_test": int((~train).sum()),
        "rms_log_error": float(np.sqrt(np.mean(err[~train] ** 2))),
        "rms_log_error_train": float(np.sqrt(np.mean(err[train] ** 2))),
        "mean_log_error": float(np.mean(err[~train])),
        "params": {n: float(v) for n, v in zip(law.natural, law.to_natural(theta))},
    }
