"""`fit()`: one law on one table: the multi-start point fit, bootstrap intervals, derived quantities, information
criteria and the extrapolation backtest, gathered into a `FitResult`."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np

from ..laws import get_law
from . import bootstrap as boot
from .backtest import DEFAULT_HOLDOUTS, MAX_RESAMPLES, backtest, start_origins
from .compare import information_criteria
from .errors import FitError
from .identify import identification, parameters_at_bounds
from .multistart import point_fit
from .predict import map_inputs, observation_noise, parse_point
from .prepare import Prepared, distinct_x, levels, listify, prepare
from .result import FitResult

DEFAULTS = dict(
    huber_delta=1e-3,
    bootstrap=1000,
    bootstrap_unit="run",
    ci=0.95,
    seed=0,
    backtest_holdouts=DEFAULT_HOLDOUTS,
    backtest_resamples=None,
    drop_top_y=0,
    where=None,
    derive=None,
    compute=None,
    predict_at=None,
    polish=3,
    bootstrap_starts=3,
    max_iter=100,
    interval="percentile",
    envelope="auto",
)


def fit(data, law, x, y, workers: int = 1, **settings) -> FitResult:
    """Fit `law` (a name, a `Law` or 'module:NAME') to columns `x` (one name, comma-separated names or a list) and
    `y` of `data` (a DataFrame, a dict of columns or a .csv/.parquet path).

    Settings (defaults in DEFAULTS): huber_delta, bootstrap (count; 0 = none), bootstrap_unit ('run': resample
    rows, one per run; else a column whose groups are resampled whole, e.g. 'seed'), ci, seed, backtest_holdouts
    (the multi-origin backtest: hold out the largest k levels for each k), backtest_resamples (draws for the
    backtest's interval; None = min(bootstrap, 200)), drop_top_y, where (list of COL=VALUE), derive (list of
    NAME=EXPR), compute (compute budgets for a two-input law's allocation), predict_at (list of 'N=1e9[,D=...]'),
    starts ((K, P) fitted-parameter starting points overriding the law's), polish, bootstrap_starts, max_iter
    (Newton iterations per start; the best unconverged end points then run on),
    interval (percentile or bca), envelope (grid columns to take the best value of per (size, budget) cell:
    'auto', every grid_* column with several values; 'none'; or a list: fitting.envelope).

    `workers`: processes the fit may keep busy, this one included (fitting.workers): the backtest's origins are
    fitted in the others while this one fits all the data, and the bootstrap's basin check is shared out among the
    processes they leave free. It changes the time, not the result."""
    law_ref = law if isinstance(law, str) and ":" in law else None
    law = get_law(law)
    user_starts = settings.pop("starts", None)
    settings = _settings(settings)
    prep = prepare(data, law, x, y, settings)
    starts = _user_starts(law, user_starts)
    origins = None
    try:
        origins = start_origins(law, prep.X, prep.y, settings["backtest_holdouts"], settings, workers)
        theta, point, scales, Xs, logy = point_fit(law, prep.X, prep.y, settings, starts)
        n = prep.y.size
        resid = law.log_predict(theta[None, :], prep.X)[0] - logy
        nat = law.to_natural(theta[None, :])[0]
        # the basin check gets the processes the origins' workers have left (they leave when all are claimed)
        draws = _bootstrap(law, prep, settings, point, scales, Xs, logy, max(1, workers - origins.busy))
        jack = _jackknife(law, prep, settings, point, scales, Xs, logy) if settings["interval"] == "bca" else None
        intervals, fit_intervals, derived = _intervals(law, prep, settings, theta, nat, draws, jack)
        backtested = backtest(law, prep.X, prep.y, settings["backtest_holdouts"], settings, prep.groups, origins)
    except BaseException:
        if origins is not None:
            origins.close(abandon=True)  # no worker outlives a failed fit (backtest closes them on success)
        raise
    diagnostics = {**point.diagnostics, "input_scales": [float(s) for s in scales],
                   "bootstrap_failed": draws["info"]["n_failed"],
                   "bootstrap_not_converged": draws["info"]["n_not_converged"],
                   "bootstrap_basin_check": draws["info"].get("basin_check")}
    result = FitResult(
        law=law, x=prep.x_cols, y=prep.y_col, theta=theta,
        params={name: float(v) for name, v in zip(law.natural, nat)},
        intervals=intervals, ci=float(settings["ci"]), objective=float(point.objective),
        n_points=n, n_excluded=prep.n_excluded, excluded=prep.excluded, excluded_runs=prep.excluded_runs,
        rms_log_residual=math.sqrt(float(np.sum(resid**2)) / n),
        rms_log_residual_of_means=rms_of_group_means(resid, prep.X),
        information_criteria=information_criteria(law, Xs, logy, point, settings),
        backtest=backtested,
        diagnostics=diagnostics, derived=derived,
        bootstrap={"n": settings["bootstrap"], "unit": settings["bootstrap_unit"],
                   "dof": draws["dof"],
                   "n_units": draws["n_units"], "n_failed": draws["info"]["n_failed"],
                   "parameters": list(law.natural), "params": draws["natural"]},
        settings={**settings, "starts": "custom" if starts is not None else "law default"},
        data_hash=data_hash(prep),
        fit_params={name: float(v) for name, v in zip(law.params, theta)},
        fit_intervals=fit_intervals, n_filtered=prep.n_filtered, n_input=prep.n_input,
        at_bound=parameters_at_bounds(law, point.theta),
        identification=identification(law, Xs, logy, point.theta, settings["huber_delta"]),
        observation_noise=observation_noise(resid, prep.X, law.n_params),
        x_range={c: [float(v.min()), float(v.max())] for c, v in zip(prep.x_cols, prep.X)}, law_ref=law_ref,
        envelope=prep.envelope,
    )
    if prep.compute is not None:
        from .approaches import compare

        result.approaches = compare(result, prep.X[0], prep.y, prep.compute, prep.compute_name,
                                    settings["compute"], bootstrap=int(settings["bootstrap"]),
                                    seed=int(settings["seed"]))
    return result


def _settings(given: dict) -> dict:
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise FitError(f"unknown fit setting(s): {', '.join(sorted(unknown))}; known: {', '.join(DEFAULTS)}")
    settings = {**DEFAULTS, **given}
    settings["bootstrap_unit"] = settings["bootstrap_unit"] or "run"
    settings["compute"] = [float(c) for c in listify(settings["compute"])]
    for key in ("predict_at", "where", "derive"):
        settings[key] = listify(settings[key])
    settings["backtest_holdouts"] = [int(k) for k in listify(settings["backtest_holdouts"])]
    if settings["backtest_resamples"] is None:
        settings["backtest_resamples"] = min(int(settings["bootstrap"]), MAX_RESAMPLES)
    ci = float(settings["ci"])
    if not 0 < ci < 1:
        raise FitError(f"ci must be between 0 and 1, got {ci}")
    if settings["interval"] not in boot.INTERVAL_METHODS:
        raise FitError(f"interval must be one of {', '.join(boot.INTERVAL_METHODS)}, got {settings['interval']!r}")
    if int(settings["bootstrap"]) < 0:
        raise FitError(f"bootstrap must be a count >= 0 (0: no bootstrap), got {settings['bootstrap']}")
    if any(k < 1 for k in settings["backtest_holdouts"]):
        raise FitError(f"backtest_holdouts must be counts >= 1 of largest sizes to hold out, got "
                       f"{settings['backtest_holdouts']}")
    if float(settings["huber_delta"]) <= 0:
        raise FitError(f"huber_delta must be > 0, got {settings['huber_delta']}")
    return settings


def _user_starts(law, starts):
    if starts is None:
        return None
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    if starts.shape[1] != law.n_params:
        raise FitError(f"starts must have {law.n_params} columns ({', '.join(law.params)}), got {starts.shape[1]}")
    return starts


def _to_law_coordinates(law, theta_scaled, scales):
    return law.unscale(theta_scaled, scales) if law.scale_inputs else theta_scaled


def _bootstrap(law, prep, settings, point, scales, Xs, logy, workers: int = 1) -> dict:
    """{theta (B, P), natural (B, P), n_units, dof, info}: the refits of B resamples (B = settings['bootstrap']) of
    the units, each resample keeping every size (bootstrap.resample_weights), drawn and refitted in chunks; the
    basin check in up to `workers` processes."""
    B, P = int(settings["bootstrap"]), law.n_params
    if B <= 0:
        return {"theta": np.empty((0, P)), "natural": np.empty((0, P)), "n_units": prep.y.size,
                "info": {"n_failed": 0, "n_not_converged": 0}, "dof": None}
    draw = boot.Resamples(prep.y.size, prep.groups, int(settings["seed"]), levels(prep.X[0]))
    scaled, info = boot.bootstrap_refits(law, Xs, logy, settings["huber_delta"], point, settings, draw, B,
                                         np.random.default_rng([int(settings["seed"]), 2]), workers)
    theta = _to_law_coordinates(law, scaled, scales)
    return {"theta": theta, "natural": law.to_natural(theta), "n_units": draw.n_units, "info": info,
            "dof": max(draw.n_units - P, 1)}


def _jackknife(law, prep, settings, point, scales, Xs, logy) -> dict | None:
    if int(settings["bootstrap"]) <= 0:
        return None
    draw = boot.Jackknife(prep.y.size, prep.groups)
    scaled, *_ = boot.refit_all(law, Xs, logy, settings["huber_delta"], point, settings, draw, draw.n_units,
                                point.local_optima)
    theta = _to_law_coordinates(law, scaled, scales)
    return {"theta": theta, "natural": law.to_natural(theta)}


def _intervals(law, prep, settings, theta, nat, draws, jack):
    """Intervals of the reported parameters, the fitted parameters and every derived quantity."""
    ci, dof = float(settings["ci"]), draws["dof"]

    def column(values, i):
        return None if values is None else values[:, i]

    jn, jt = (jack["natural"], jack["theta"]) if jack else (None, None)
    intervals = {n: boot.interval(draws["natural"][:, i], ci, nat[i], column(jn, i), dof)
                 for i, n in enumerate(law.natural)}
    fit_intervals = {n: boot.interval(draws["theta"][:, i], ci, theta[i], column(jt, i), dof)
                     for i, n in enumerate(law.params)}
    point = derived_quantities(law, nat[None, :], settings, prep.x_cols, theta[None, :])
    boot_derived = derived_quantities(law, draws["natural"], settings, prep.x_cols, draws["theta"])
    jack_derived = derived_quantities(law, jn, settings, prep.x_cols, jt) if jack else {}
    derived = {
        name: {"value": float(value[0]), "interval": boot.interval(boot_derived.get(name, []), ci, float(value[0]),
                                                                   jack_derived.get(name), dof)}
        for name, value in point.items()
    }
    return intervals, fit_intervals, derived


def derived_quantities(law, nat: np.ndarray, settings, x_cols, theta) -> dict:
    """Derived quantities for (S, P) reported parameters: the law's own closed forms, the compute-optimal
    allocation at each requested compute budget, and predictions at each requested point."""
    out = {}
    if not len(nat):
        return out
    reported = {n: nat[:, i] for i, n in enumerate(law.natural)}
    with np.errstate(all="ignore"):
        if law.derived is not None:
            out.update(law.derived(reported))
        if law.compute_optimal is not None:
            for C in settings.get("compute") or []:
                N = law.compute_optimal(reported, C)
                D = C / (6.0 * N)
                tag = f"{C:g}"
                out[f"N_opt@C={tag}"] = N
                out[f"D_opt@C={tag}"] = D
                out[f"tokens_per_param@C={tag}"] = D / N
                out[f"loss_opt@C={tag}"] = predict_paired(law, theta, np.stack([N, D]))
    for spec in listify(settings.get("predict_at")):
        values = map_inputs(parse_point(spec, "--predict-at"), x_cols, law)
        X = np.array([[values[c]] for c in x_cols])
        out[f"y@{spec.replace(' ', '')}"] = law.predict(theta, X)[:, 0]
    return out


def predict_paired(law, theta, X, chunk=256) -> np.ndarray:
    """The law for parameter row s at input column s: theta (S, P), X (k, S) -> (S,)."""
    out = np.empty(theta.shape[0])
    for lo in range(0, theta.shape[0], chunk):
        block = law.predict(theta[lo : lo + chunk], X[:, lo : lo + chunk])
        out[lo : lo + chunk] = np.diagonal(block)
    return out


def data_hash(prep: Prepared) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"x": prep.x_cols, "y": prep.y_col}).encode())
    h.update(np.ascontiguousarray(prep.X, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(prep.y, dtype=np.float64).tobytes())
    if prep.groups is not None:
        h.update("\0".join(prep.groups).encode())
    return h.hexdigest()[:16]


def rms_of_group_means(resid: np.ndarray, X: np.ndarray) -> float:
    """RMS over distinct x of the mean log residual there: the law's misfit with seed-to-seed noise averaged out
    (rms_log_residual also carries that noise, which no law can fit)."""
    _, group = distinct_x(X)
    means = np.bincount(group, weights=resid) / np.bincount(group)
    return float(np.sqrt(np.mean(means**2)))
