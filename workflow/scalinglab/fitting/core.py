"""fit(): multi-start summed-Huber fit, bootstrap, derived quantities, information criteria and backtest."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__, atomic
from ..laws import Law, get_law
from . import table as tbl
from .errors import FitError, FitInputError
from .optimize import STATUS, Objective, lbfgs_batch, newton_batch, polish_scipy

FIT_FORMAT = 1
RACE = (4, 4, 4, 4)  # Newton racing rounds for large start grids (see optimize.newton_batch)

DEFAULTS = dict(
    huber_delta=1e-3,
    bootstrap=1000,
    bootstrap_group=None,
    ci=0.95,
    seed=0,
    holdout=0,
    drop_top_y=0,
    where=None,
    derive=None,
    compute=None,
    predict_at=None,
    polish=3,
    bootstrap_starts=3,
    max_iter=500,
    interval="percentile",
)
INTERVAL_METHODS = ("percentile", "bca")


def _listify(value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


@dataclass
class Prepared:
    X: np.ndarray  # (k, n) raw x values
    y: np.ndarray  # (n,)
    groups: np.ndarray | None
    x_cols: list
    y_col: str
    n_excluded: int
    excluded: dict
    n_filtered: int
    n_input: int


def prepare(data, law: Law, x, y, settings) -> Prepared:
    x_cols = [c.strip() for c in (x.split(",") if isinstance(x, str) else list(x))]
    if len(x_cols) != len(law.inputs):
        raise FitInputError(
            f"law {law.name!r} takes {len(law.inputs)} input(s) ({', '.join(law.inputs)}) but {len(x_cols)} x "
            f"column(s) were given: {', '.join(x_cols)}"
        )
    frame = tbl.as_frame(data)
    n_input = len(frame)
    frame = tbl.apply_derive(frame, _listify(settings.get("derive")))
    frame = tbl.apply_where(frame, _listify(settings.get("where")))
    n_filtered = n_input - len(frame)
    excluded: dict[str, int] = {}
    if "status" in frame.columns:
        status = frame["status"].astype(str)
        for value, count in status[status != "ok"].value_counts().items():
            excluded[f"status={value}"] = int(count)
        frame = frame[status == "ok"]
    for col in x_cols:
        tbl.column_values(frame, col, "x")
    ys = tbl.column_values(frame, y, "y")
    k = int(settings.get("drop_top_y") or 0)
    if k:
        if k >= len(frame):
            raise FitInputError(f"--drop-top-y {k} would drop all {len(frame)} rows")
        order = np.argsort(ys, kind="stable")
        frame = frame.iloc[np.sort(order[: len(frame) - k])]
        excluded["drop_top_y"] = k
    index = list(frame.index)
    X = np.stack([tbl.column_values(frame, c, "x") for c in x_cols])
    yv = tbl.column_values(frame, y, "y")
    for col, values, positive in zip(x_cols, X, law.log_inputs or (True,) * len(x_cols)):
        tbl.check_values(values, col, positive, index)
    tbl.check_values(yv, y, True, index)
    n = yv.shape[0]
    if n < law.n_params:
        raise FitInputError(
            f"{n} point(s) after filtering but law {law.name!r} has {law.n_params} parameters "
            f"({', '.join(law.natural)}); need at least {law.n_params}"
        )
    for col, values in zip(x_cols, X):
        if np.unique(values).size < 2:
            raise FitInputError(f"x column {col!r} has a single distinct value ({values[0]!r}); nothing to fit")
    groups = None
    group = settings.get("bootstrap_group")
    if group:
        if group not in frame.columns:
            raise FitInputError(
                f"missing bootstrap group column {group!r}; the table has columns: {', '.join(map(str, frame.columns))}"
            )
        groups = frame[group].astype(str).to_numpy()
    return Prepared(X, yv, groups, x_cols, y, sum(excluded.values()), excluded, n_filtered, n_input)


def _scales(law, X):
    if not law.scale_inputs:
        return np.ones(X.shape[0])
    return np.array([max(np.max(np.abs(row)), 1e-300) for row in X])


@dataclass
class _Core:
    theta: np.ndarray  # internal params, in scaled coordinates
    objective: float
    diagnostics: dict
    local_optima: np.ndarray  # a few distinct good end points (scaled coords), for warm starts


def _multistart(law, Xs, logy, delta, starts, settings, weights=None) -> _Core:
    obj = Objective(law, Xs, logy, delta, weights)
    if obj.has_hessian and starts.shape[0] > 1:
        race = RACE if starts.shape[0] >= 1000 else ()
        res = newton_batch(obj, starts, race=race)
        optimizer = (
            f"batched damped Newton (exact Hessian), racing: rounds {list(race)} iterations, keep 1/2 each"
            if race
            else "batched damped Newton (exact Hessian)"
        )
    else:
        res = lbfgs_batch(obj, starts, law.bounds, max_iter=int(settings.get("max_iter", 500)))
        optimizer = "batched L-BFGS"
    finite = np.isfinite(res.f)
    if not finite.any():
        raise FitError(f"law {law.name!r}: no starting point gave a finite objective on this data")
    order = np.argsort(np.where(finite, res.f, np.inf))
    best_batch = float(res.f[order[0]])
    # polish the best few distinct end points with scipy at tight tolerances
    candidates = []
    for i in order:
        if not np.isfinite(res.f[i]) or len(candidates) >= max(1, int(settings.get("polish", 3))):
            break
        if all(np.max(np.abs(res.x[i] - res.x[j])) > 1e-6 for j in candidates):
            candidates.append(i)
    best_theta, best_f, polish_info = res.x[order[0]].copy(), best_batch, None
    for i in candidates:
        p = polish_scipy(obj, res.x[i], law.bounds)
        if np.isfinite(p.fun) and p.fun < best_f:
            best_theta, best_f = np.array(p.x), float(p.fun)
        if i == order[0]:
            polish_info = p
    # re-check gradient at the final point
    _, g = obj.value_grad(best_theta[None, :], np.array([0]))
    grad_norm = float(np.max(np.abs(g)))
    pruned = res.status == 6
    within = finite & ~pruned & (res.f <= best_f * (1 + 1e-6) + 1e-300)
    # distinct local optima (by objective value) for bootstrap warm starts
    optima = [best_theta]
    for i in order[:200]:
        if len(optima) >= max(1, int(settings.get("bootstrap_starts", 3))):
            break
        if not np.isfinite(res.f[i]):
            break
        if all(np.max(np.abs(res.x[i] - o)) > 1e-3 * (1 + np.max(np.abs(o))) for o in optima):
            optima.append(res.x[i])
    counts = {STATUS[k]: int(v) for k, v in zip(*np.unique(res.status, return_counts=True))}
    converged_batch = res.status[order[0]] in (0, 1, 5)
    diagnostics = {
        "n_starts": int(starts.shape[0]),
        "n_starts_finite": int(finite.sum()),
        "best_start": int(order[0]),
        "best_start_point": {n: float(v) for n, v in zip(law.params, starts[order[0]])},
        "n_starts_at_optimum": int(within.sum()),
        "n_starts_pruned": int(pruned.sum()),
        "n_starts_run_to_end": int((~pruned).sum()),
        "optimizer": optimizer,
        "objective_batch": best_batch,
        "converged": bool(converged_batch or (polish_info is not None and polish_info.success)),
        "iterations": int(res.iterations[order[0]]),
        "iterations_mean": float(res.iterations.mean()),
        "batch_evaluations": int(res.n_evals),
        "evaluations_per_start": float(res.n_evals / max(1, starts.shape[0]))
        if optimizer != "batched L-BFGS"
        else None,
        "start_status": counts,
        "polish": None
        if polish_info is None
        else {
            "iterations": int(polish_info.nit),
            "success": bool(polish_info.success),
            "message": str(polish_info.message),
            "improvement": float(best_batch - best_f),
        },
        "grad_norm": grad_norm,
    }
    return _Core(best_theta, best_f, diagnostics, np.array(optima))


def _bootstrap_weights(n, groups, B, rng):
    if groups is None:
        idx = rng.integers(0, n, size=(B, n))
        W = np.zeros((B, n))
        np.add.at(W, (np.repeat(np.arange(B), n), idx.ravel()), 1.0)
        return W, "row", n
    labels, inverse = np.unique(groups, return_inverse=True)
    G = labels.size
    picks = rng.integers(0, G, size=(B, G))
    counts = np.zeros((B, G))
    np.add.at(counts, (np.repeat(np.arange(B), G), picks.ravel()), 1.0)
    return counts[:, inverse], "group", G


def _bootstrap(law, Xs, logy, delta, core: _Core, W, settings):
    B = W.shape[0]
    starts = core.local_optima
    k = starts.shape[0]
    x0 = np.repeat(starts[None, :, :], B, axis=0).reshape(B * k, -1)
    Wk = np.repeat(W, k, axis=0)
    obj = Objective(law, Xs, logy, delta, Wk)
    if obj.has_hessian:
        res = newton_batch(obj, x0, race=())
    else:
        res = lbfgs_batch(obj, x0, law.bounds, max_iter=int(settings.get("max_iter", 500)))
    f = res.f.reshape(B, k)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    theta = res.x.reshape(B, k, -1)[np.arange(B), best]
    ok = np.isfinite(f[np.arange(B), best])
    status = res.status.reshape(B, k)[np.arange(B), best]
    theta[~ok] = np.nan
    return theta, {"n_failed": int((~ok).sum()), "n_not_converged": int((~np.isin(status, (0, 1, 5)) & ok).sum())}


def _interval(samples, ci, point=None, jack=None):
    """Percentile interval of bootstrap samples; BCa (Efron 1987) when the point estimate and the jackknife
    (leave-one-unit-out) values are given: bias correction z0 from the share of samples below the point estimate,
    acceleration from the jackknife skewness."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size < 2:
        return [None, None]
    q = np.array([0.5 * (1 - ci), 1 - 0.5 * (1 - ci)])
    if point is not None and jack is not None and np.isfinite(point):
        from scipy.stats import norm

        jack = np.asarray(jack, dtype=float)
        jack = jack[np.isfinite(jack)]
        below = (np.sum(samples < point) + 0.5 * np.sum(samples == point)) / samples.size
        if jack.size >= 3 and 0 < below < 1:
            z0 = norm.ppf(below)
            d = jack.mean() - jack
            den = 6.0 * np.sum(d * d) ** 1.5
            acc = np.sum(d**3) / den if den > 0 else 0.0
            z = norm.ppf(q)
            q = norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    lo, hi = np.percentile(samples, 100 * q)
    return [float(lo), float(hi)]


def _jackknife_weights(n, groups):
    """Leave-one-unit-out weight vectors: one row per row of the data, or per group."""
    if groups is None:
        return 1.0 - np.eye(n)
    labels, inverse = np.unique(groups, return_inverse=True)
    return (inverse[None, :] != np.arange(labels.size)[:, None]).astype(float)


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


def _predict_at_specs(specs, x_cols, law):
    """'N=1e9,D=2e10' -> (label, {col: value}); every x column must be given."""
    out = []
    for spec in _listify(specs):
        values = _map_inputs(parse_point(spec, "--predict-at"), x_cols, law)
        out.append((f"y@{spec.replace(' ', '')}", values))
    return out


def _map_inputs(values: dict, x_cols, law):
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


def _derived(law, nat: np.ndarray, settings, x_cols, theta_internal):
    """Derived quantities for (S, P) natural parameters: law-specific plus predictions at requested points."""
    names = law.natural
    out = {}
    if law.derived is not None:
        out.update(law.derived({n: nat[:, i] for i, n in enumerate(names)}, settings))
    for label, values in _predict_at_specs(settings.get("predict_at"), x_cols, law):
        X = np.array([[values[c]] for c in x_cols])
        out[label] = law.predict(theta_internal, X)[:, 0]
    return out


def _data_hash(prep: Prepared) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"x": prep.x_cols, "y": prep.y_col}).encode())
    h.update(np.ascontiguousarray(prep.X, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(prep.y, dtype=np.float64).tobytes())
    if prep.groups is not None:
        h.update("\0".join(prep.groups).encode())
    return h.hexdigest()[:16]


def _clean(value):
    """JSON-safe: numpy to python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def rms_of_group_means(resid: np.ndarray, X: np.ndarray) -> float:
    """RMS over distinct x of the mean log residual there: the law's misfit with seed-to-seed noise averaged out
    (rms_log_residual also carries that noise, which no law can fit)."""
    _, group = np.unique(X.T, axis=0, return_inverse=True)
    means = np.bincount(group.ravel(), weights=resid) / np.bincount(group.ravel())
    return float(np.sqrt(np.mean(means**2)))


@dataclass
class FitResult:
    """One fit. ``to_dict()`` is the fit JSON (docs/fit-json.md); ``predict`` evaluates it with intervals."""

    law: Law
    x: list
    y: str
    theta: np.ndarray  # internal parameters (unscaled coordinates)
    params: dict
    intervals: dict
    ci: float
    objective: float
    n_points: int
    n_excluded: int
    excluded: dict
    rms_log_residual: float
    rms_log_residual_of_means: float
    aic: float
    bic: float
    backtest: dict
    diagnostics: dict
    derived: dict
    bootstrap: dict  # n, unit, n_units, n_failed, params (list of natural vectors)
    settings: dict
    data_hash: str
    fit_params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def boot_natural(self) -> np.ndarray:
        params = self.bootstrap.get("params")
        if params is None or len(params) == 0:
            return np.empty((0, len(self.law.natural)))
        return np.array([[np.nan if v is None else v for v in row] for row in params], dtype=float)

    def predict(self, at, ci=None):
        return predict(self, at, ci=ci)

    def to_dict(self) -> dict:
        return _clean(
            {
                "law": self.law.name,
                "formula": self.law.formula,
                "parameters": list(self.law.natural),
                "x": list(self.x),
                "inputs": list(self.law.inputs),
                "y": self.y,
                "params": self.params,
                "intervals": self.intervals,
                "ci": self.ci,
                "fit_parameters": list(self.law.params),
                "fit_params": self.fit_params,
                "objective": self.objective,
                "n_points": self.n_points,
                "n_excluded": self.n_excluded,
                "excluded": self.excluded,
                "rms_log_residual": self.rms_log_residual,
                "rms_log_residual_of_means": self.rms_log_residual_of_means,
                "aic": self.aic,
                "bic": self.bic,
                "backtest": self.backtest,
                "diagnostics": self.diagnostics,
                "derived": self.derived,
                "bootstrap": self.bootstrap,
                "settings": self.settings,
                "data_hash": self.data_hash,
                "version": {"scalinglab": __version__, "fit_format": FIT_FORMAT},
                **self.extra,
            }
        )

    def save(self, path):
        return atomic.write_json(path, self.to_dict())


def _fit_core(law, X, y, settings, starts=None):
    """Point fit on raw arrays; returns (theta_unscaled, core, scales, Xs, logy)."""
    scales = _scales(law, X)
    Xs = X / scales[:, None]
    logy = np.log(y)
    if starts is None:
        starts = np.asarray(law.starts(Xs, logy), dtype=float)
    core = _multistart(law, Xs, logy, settings["huber_delta"], starts, settings)
    theta = law.unscale(core.theta, scales) if law.scale_inputs else core.theta
    return theta, core, scales, Xs, logy


def backtest(law, X, y, holdout, settings):
    """Fit on all but the `holdout` largest distinct values of the first x column; RMS log error on the rest."""
    law = get_law(law)
    settings = {**DEFAULTS, **(settings or {})}
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
        theta, core, *_ = _fit_core(law, X[:, train], y[train], settings)
    except FitError as error:
        return {"holdout": k, "skipped": f"fit on the smaller x failed: {error}"}
    pred = law.log_predict(theta[None, :], X)[0]
    err = pred - np.log(y)
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


def fit(data, law, x, y, **settings) -> FitResult:
    """Fit `law` to columns `x` (one name, comma-separated names or a list) and `y` of `data`.

    `data`: a DataFrame, a dict of columns or a path (.csv/.parquet). Settings (defaults in DEFAULTS):
    huber_delta, bootstrap (count; 0 = none), bootstrap_group (column; None = resample rows), ci, seed,
    holdout (backtest k), drop_top_y, where (list of COL=VALUE), derive (list of NAME=EXPR), compute (list of
    compute budgets for chinchilla's allocation), predict_at (list of 'N=1e9[,D=...]'), starts ((K, P) internal
    starting points overriding the law's), polish, bootstrap_starts, max_iter.
    """
    law = get_law(law)
    unknown = set(settings) - set(DEFAULTS) - {"starts"}
    if unknown:
        raise FitError(f"unknown fit setting(s): {', '.join(sorted(unknown))}; known: {', '.join(DEFAULTS)}")
    user_starts = settings.pop("starts", None)
    settings = {**DEFAULTS, **settings}
    if settings["bootstrap_group"] in ("none", "None", ""):
        settings["bootstrap_group"] = None
    settings["compute"] = [float(c) for c in _listify(settings["compute"])]
    settings["predict_at"] = _listify(settings["predict_at"])
    settings["where"] = _listify(settings["where"])
    settings["derive"] = _listify(settings["derive"])
    ci = float(settings["ci"])
    if not 0 < ci < 1:
        raise FitError(f"ci must be between 0 and 1, got {ci}")
    if settings["interval"] not in INTERVAL_METHODS:
        raise FitError(f"interval must be one of {', '.join(INTERVAL_METHODS)}, got {settings['interval']!r}")
    if float(settings["huber_delta"]) <= 0:
        raise FitError(f"huber_delta must be > 0, got {settings['huber_delta']}")
    prep = prepare(data, law, x, y, settings)
    X, yv = prep.X, prep.y
    starts = None if user_starts is None else np.atleast_2d(np.asarray(user_starts, dtype=float))
    if starts is not None and starts.shape[1] != law.n_params:
        raise FitError(f"starts must have {law.n_params} columns ({', '.join(law.params)}), got {starts.shape[1]}")
    theta, core, scales, Xs, logy = _fit_core(law, X, yv, settings, starts)
    n, P = yv.size, law.n_params
    resid = law.log_predict(theta[None, :], X)[0] - logy
    rss = float(np.sum(resid**2))
    rms = math.sqrt(rss / n)
    rms_of_means = rms_of_group_means(resid, X)
    loglik_term = n * math.log(max(rss / n, 1e-300))
    aic = loglik_term + 2 * P
    bic = loglik_term + P * math.log(n)
    nat = law.to_natural(theta[None, :])[0]
    # bootstrap
    B = int(settings["bootstrap"])
    rng = np.random.default_rng(int(settings["seed"]))
    boot_theta = np.empty((0, P))
    boot_info = {"n_failed": 0, "n_not_converged": 0}
    unit, n_units = "row", n
    if B > 0:
        W, unit, n_units = _bootstrap_weights(n, prep.groups, B, rng)
        boot_scaled, boot_info = _bootstrap(law, Xs, logy, settings["huber_delta"], core, W, settings)
        boot_theta = law.unscale(boot_scaled, scales) if law.scale_inputs else boot_scaled
    with np.errstate(all="ignore"):
        boot_nat = law.to_natural(boot_theta) if B > 0 else np.empty((0, P))
    method = settings["interval"]
    jack_theta = jack_nat = None
    if B > 0 and method == "bca":
        JW = _jackknife_weights(n, prep.groups)
        jack_scaled, _ = _bootstrap(law, Xs, logy, settings["huber_delta"], core, JW, settings)
        jack_theta = law.unscale(jack_scaled, scales) if law.scale_inputs else jack_scaled
        with np.errstate(all="ignore"):
            jack_nat = law.to_natural(jack_theta)
    point_derived = _derived(law, nat[None, :], settings, prep.x_cols, theta[None, :])
    boot_derived = _derived(law, boot_nat, settings, prep.x_cols, boot_theta) if B > 0 else {}
    jack_derived = _derived(law, jack_nat, settings, prep.x_cols, jack_theta) if jack_nat is not None else {}

    def jk(values, i):
        return None if values is None else values[:, i]

    intervals = {
        name: _interval(boot_nat[:, i], ci, nat[i], jk(jack_nat, i)) for i, name in enumerate(law.natural)
    }
    fit_intervals = {
        name: _interval(boot_theta[:, i], ci, theta[i], jk(jack_theta, i)) for i, name in enumerate(law.params)
    }
    derived = {
        name: {
            "value": float(value[0]),
            "interval": _interval(boot_derived.get(name, []), ci, float(value[0]), jack_derived.get(name)),
        }
        for name, value in point_derived.items()
    }
    bt = backtest(law, X, yv, settings["holdout"], settings)
    group = settings["bootstrap_group"]
    diagnostics = dict(core.diagnostics)
    diagnostics["input_scales"] = [float(s) for s in scales]
    diagnostics["bootstrap_failed"] = boot_info["n_failed"]
    diagnostics["bootstrap_not_converged"] = boot_info["n_not_converged"]
    record_settings = {k: v for k, v in settings.items()}
    record_settings["starts"] = "custom" if starts is not None else "law default"
    return FitResult(
        law=law,
        x=prep.x_cols,
        y=prep.y_col,
        theta=theta,
        params={name: float(v) for name, v in zip(law.natural, nat)},
        intervals=intervals,
        ci=ci,
        objective=float(core.objective),
        n_points=n,
        n_excluded=prep.n_excluded,
        excluded=prep.excluded,
        rms_log_residual=rms,
        rms_log_residual_of_means=rms_of_means,
        aic=aic,
        bic=bic,
        backtest=bt,
        diagnostics=diagnostics,
        derived=derived,
        bootstrap={
            "n": B,
            "unit": unit if group is None else f"group:{group}",
            "n_units": int(n_units),
            "n_failed": boot_info["n_failed"],
            "parameters": list(law.natural),
            "params": boot_nat,
        },
        settings=record_settings,
        data_hash=_data_hash(prep),
        fit_params={name: float(v) for name, v in zip(law.params, theta)},
        extra={"fit_intervals": fit_intervals, "n_filtered": prep.n_filtered, "n_input": prep.n_input},
    )


def load_fit(path_or_dict) -> FitResult:
    """Rebuild a FitResult from a fit JSON (path or dict), enough to predict with intervals."""
    if isinstance(path_or_dict, (str, Path)):
        path = Path(path_or_dict)
        if not path.is_file():
            raise FitInputError(f"fit file not found: {path}")
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise FitInputError(f"{path} is not a fit JSON: {error}") from None
    else:
        d = dict(path_or_dict)
    for key in ("law", "params", "x", "y"):
        if key not in d:
            raise FitInputError(f"fit JSON has no {key!r} key; is it a scalinglab fit?")
    law = get_law(d["law"])
    nat = np.array([d["params"][n] for n in law.natural], dtype=float)
    theta = law.from_natural(nat[None, :])[0]
    known = {f for f in FitResult.__dataclass_fields__}
    kwargs = {k: d.get(k) for k in known if k not in ("law", "theta", "extra")}
    kwargs["bootstrap"] = d.get("bootstrap") or {"n": 0, "params": []}
    return FitResult(law=law, theta=theta, extra={}, **{k: v for k, v in kwargs.items()})


def predict(fit_result, at, ci=None):
    """Predict y at `at` ({x column or law input: value or array}) with bootstrap percentile intervals.

    Returns {"x": {col: array}, "value": array, "interval": (lo array, hi array), "ci": ci}."""
    if not isinstance(fit_result, FitResult):
        fit_result = load_fit(fit_result)
    law = fit_result.law
    ci = fit_result.ci if ci is None else float(ci)
    values = _map_inputs(at, fit_result.x, law)
    arrays = [np.atleast_1d(np.asarray(values[c], dtype=float)) for c in fit_result.x]
    arrays = np.broadcast_arrays(*arrays)
    X = np.stack(arrays)
    for col, row, positive in zip(fit_result.x, X, law.log_inputs or (True,) * X.shape[0]):
        tbl.check_values(row, col, positive)
    value = law.predict(fit_result.theta[None, :], X)[0]
    boot = fit_result.boot_natural
    lo = hi = np.full_like(value, np.nan)
    if boot.size:
        with np.errstate(all="ignore"):
            preds = law.predict(law.from_natural(boot), X)
        q = [50 * (1 - ci), 100 - 50 * (1 - ci)]
        good = np.all(np.isfinite(preds), axis=1)
        if good.sum() >= 2:
            lo, hi = np.percentile(preds[good], q, axis=0)
    return {"x": dict(zip(fit_result.x, arrays)), "value": value, "interval": (lo, hi), "ci": ci}
