"""Comparing laws: information criteria from a least-squares fit on the size means, and ranking laws by their
multi-origin backtest with paired intervals on the difference to the best."""

from __future__ import annotations

import math

import numpy as np

from ..laws import LAWS, get_law
from .bootstrap import interval
from .errors import FitError
from .multistart import multistart
from .prepare import distinct_x, x_list

LEAST_SQUARES_DELTA = 1e6  # a Huber delta no log residual reaches: the summed Huber loss is then 0.5 * RSS
CRITERIA_METHOD = ("Gaussian likelihood of a separate least-squares fit to the mean log y at each distinct x; "
                   "n_eff = number of distinct x, k = law parameters + 1 (the noise variance)")


def information_criteria(law, Xs, logy, point, settings) -> dict:
    """AIC, AICc and BIC of `law` from its own least-squares fit (the Gaussian maximum-likelihood point, which the
    summed-Huber optimum is not) to the mean log y at each distinct x. Seed replicates at one x are not independent
    evidence about the law's form, so the effective number of points is the number of distinct x."""
    keys, inverse = distinct_x(Xs)
    n_eff = keys.shape[0]
    means = np.bincount(inverse, weights=logy) / np.bincount(inverse)
    k = law.n_params + 1
    out = {"method": CRITERIA_METHOD, "n_eff": int(n_eff), "k": int(k), "rss": None, "aic": None, "aicc": None,
           "bic": None}
    if n_eff <= law.n_params:
        out["skipped"] = f"{n_eff} distinct x for {law.n_params} parameters: the least-squares fit is not identified"
        return out
    try:
        ls = multistart(law, keys.T, means, LEAST_SQUARES_DELTA, point.local_optima, {**settings, "polish": 1})
    except FitError as error:
        out["skipped"] = f"least-squares fit failed: {error}"
        return out
    rss = 2.0 * ls.objective
    loglik = n_eff * math.log(max(rss / n_eff, 1e-300))
    aic = loglik + 2 * k
    out.update(rss=rss, aic=aic, bic=loglik + k * math.log(n_eff),
               aicc=aic + 2 * k * (k + 1) / (n_eff - k - 1) if n_eff > k + 1 else None)
    return out


def rank_laws(data, x, y, laws=None, workers: int = 1, **settings):
    """Fit each law and rank them by the mean held-out RMS log error of the multi-origin backtest
    (settings['backtest_holdouts'], default [1, 2, 3]). No parameter bootstrap is run, but the backtest draws are
    (settings['bootstrap'] of them, at most backtest.MAX_RESAMPLES): each law gets an interval on its error, and the
    difference to the best law gets a paired interval (same resamples for every law).

    `workers`: processes the ranking may keep busy, this one included (fitting.workers): the laws are fitted side by
    side, each whole in one process, up to backtest.PARALLEL_ROWS rows. It changes the time, not the ranking.

    Returns [{rank, law, rms_log_error, interval, difference_to_best, difference_interval, origins, aic, aicc, bic,
    n_eff, rms_log_residual, objective, error?}], best first; laws that cannot be fitted come last with an error.
    An unknown law name, or data that cannot be read, raises before any law is fitted."""
    from .backtest import PARALLEL_ROWS
    from .table import as_table
    from .workers import InBackground

    names = laws or [n for n, law in LAWS.items() if len(law.inputs) == len(x_list(x))]
    for name in names:
        get_law(name)  # an unknown name is refused before any law is fitted
    data = as_table(data)  # read once: every law's fit (and every worker, forked) starts from this table
    # each law's fit on one process (its backtest origins one after another): the CPUs go to the laws
    fitted = InBackground(lambda name: _ranked_law(data, name, x, y, settings), names,
                          min(workers, len(names)) if len(data) <= PARALLEL_ROWS else 1)
    rows, draws = [], {}
    for row, law_draws in fitted.results():
        rows.append(row)
        if law_draws is not None:
            draws[row["law"]] = law_draws
    rows.sort(key=lambda r: math.inf if r["rms_log_error"] is None else r["rms_log_error"])
    _paired_differences(rows, draws, float(settings.get("ci", 0.95)))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows


def _ranked_law(data, name, x, y, settings) -> tuple[dict, np.ndarray | None]:
    """(ranking row, backtest draws) of one law: its fit without the parameter bootstrap (an error row when it
    cannot be fitted, with no draws)."""
    from .backtest import MAX_RESAMPLES
    from .fit import DEFAULTS, fit

    law = get_law(name)
    resamples = min(int(settings.get("bootstrap", DEFAULTS["bootstrap"])), MAX_RESAMPLES)
    try:
        result = fit(data, law, x, y, **{**settings, "bootstrap": 0, "backtest_resamples": resamples})
    except FitError as error:
        return {"law": law.name, "rms_log_error": None, "error": str(error)}, None
    bt, ic = result.backtest, result.information_criteria
    row = {
        "law": law.name, "rms_log_error": bt.get("rms_log_error"), "interval": bt.get("interval"),
        "origins": [{k: o.get(k) for k in ("holdout", "rms_log_error", "n_test", "skipped") if k in o}
                    for o in bt.get("origins", [])],
        "aic": ic.get("aic"), "aicc": ic.get("aicc"), "bic": ic.get("bic"), "n_eff": ic.get("n_eff"),
        "rms_log_residual": result.rms_log_residual, "objective": result.objective,
        **({"error": bt["skipped"]} if "skipped" in bt else {}),
    }
    return row, np.asarray(bt.get("draws") or [], dtype=float)


def _paired_differences(rows, draws, ci):
    """difference_to_best (error minus the best law's) with a percentile interval over the shared resamples: an
    interval that contains 0 means the data cannot tell the two laws apart."""
    if not rows or rows[0]["rms_log_error"] is None:
        return
    best = draws.get(rows[0]["law"], np.empty(0))
    for row in rows:
        if row["rms_log_error"] is None:
            continue
        row["difference_to_best"] = row["rms_log_error"] - rows[0]["rms_log_error"]
        mine = draws.get(row["law"], np.empty(0))
        row["difference_interval"] = (interval(mine - best, ci) if mine.size and mine.size == best.size
                                      else [None, None])
