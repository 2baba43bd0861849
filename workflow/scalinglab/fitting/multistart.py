"""The point fit: every starting point of a law run by one batched optimiser, the best few polished, and the
diagnostics a reader needs to trust the optimum (how many starts reached it, why each start stopped)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FitError
from .optimize import CONVERGED, Objective, Status, lbfgs_batch, newton_batch, polish_scipy

RACE = (4, 4, 4, 4)  # Newton racing rounds for large start grids (see optimize.newton_batch)
RACE_FROM = 1000  # race only grids at least this large
BOUND_TOLERANCE = 1e-6  # a parameter this close to a bound (relative to max(|bound|, 1)) is reported as on it


@dataclass
class PointFit:
    theta: np.ndarray  # fitted parameters, in the scaled coordinates of the optimiser
    objective: float
    diagnostics: dict
    local_optima: np.ndarray  # a few distinct good end points (scaled coordinates): bootstrap warm starts


def input_scales(law, X) -> np.ndarray:
    if not law.scale_inputs:
        return np.ones(X.shape[0])
    return np.array([max(np.max(np.abs(row)), 1e-300) for row in X])


def point_fit(law, X, y, settings, starts=None):
    """Fit on raw arrays. Returns (theta in the law's own coordinates, PointFit, scales, scaled X, log y)."""
    scales = input_scales(law, X)
    Xs = X / scales[:, None]
    logy = np.log(y)
    if starts is None:
        starts = np.asarray(law.starts(Xs, logy), dtype=float)
    point = multistart(law, Xs, logy, settings["huber_delta"], starts, settings)
    theta = law.unscale(point.theta, scales) if law.scale_inputs else point.theta
    return theta, point, scales, Xs, logy


def run_starts(law, objective, starts, settings, race=True):
    """One batched optimisation of every start: Newton with racing where the law has a fused Hessian, else L-BFGS.
    Returns (BatchResult, a sentence naming the optimiser)."""
    if objective.has_hessian:
        rounds = RACE if race and starts.shape[0] >= RACE_FROM else ()
        name = "batched damped Newton (exact Hessian)"
        if rounds:
            name += f", racing: rounds {list(rounds)} iterations, keep 1/2 each"
        return newton_batch(objective, starts, race=rounds), name
    return lbfgs_batch(objective, starts, law.box, max_iter=int(settings.get("max_iter", 500))), "batched L-BFGS"


def multistart(law, Xs, logy, delta, starts, settings, weights=None) -> PointFit:
    objective = Objective(law, Xs, logy, delta, weights)
    res, optimizer = run_starts(law, objective, starts, settings, race=starts.shape[0] > 1)
    finite = np.isfinite(res.f)
    if not finite.any():
        raise FitError(f"law {law.name!r}: no starting point gave a finite objective on this data")
    order = np.argsort(np.where(finite, res.f, np.inf))
    best_batch = float(res.f[order[0]])
    best_theta, best_f, polish = _polish(law, objective, res, order, int(settings.get("polish", 3)))
    _, g = objective.value_grad(best_theta[None, :], np.array([0]))
    pruned = res.status == Status.PRUNED
    within = finite & ~pruned & (res.f <= best_f * (1 + 1e-6) + 1e-300)
    counts = {Status(k).label: int(v) for k, v in zip(*np.unique(res.status, return_counts=True))}
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
        "converged": bool(res.status[order[0]] in CONVERGED or (polish is not None and polish.success)),
        "iterations": int(res.iterations[order[0]]),
        "iterations_mean": float(res.iterations.mean()),
        "batch_evaluations": int(res.n_evals),
        "evaluations_per_start": float(res.n_evals / max(1, starts.shape[0])) if objective.has_hessian else None,
        "start_status": counts,
        "polish": None if polish is None else {
            "iterations": int(polish.nit),
            "success": bool(polish.success),
            "message": str(polish.message),
            "improvement": float(best_batch - best_f),
        },
        "grad_norm": float(np.max(np.abs(g))),
    }
    optima = _distinct_optima(res, order, best_theta, int(settings.get("bootstrap_starts", 3)))
    return PointFit(best_theta, best_f, diagnostics, optima)


def _polish(law, objective, res, order, n_polish):
    """Refine the best few distinct end points with scipy at tight tolerances; keep the best."""
    candidates = []
    for i in order:
        if not np.isfinite(res.f[i]) or len(candidates) >= max(1, n_polish):
            break
        if all(np.max(np.abs(res.x[i] - res.x[j])) > 1e-6 for j in candidates):
            candidates.append(i)
    best_theta, best_f, info = res.x[order[0]].copy(), float(res.f[order[0]]), None
    for i in candidates:
        p = polish_scipy(objective, res.x[i], law.box)
        if np.isfinite(p.fun) and p.fun < best_f:
            best_theta, best_f = np.array(p.x), float(p.fun)
        if i == order[0]:
            info = p
    return best_theta, best_f, info


def _distinct_optima(res, order, best_theta, k):
    """The best end point and up to k-1 others that differ from it: warm starts for the bootstrap refits."""
    optima = [best_theta]
    for i in order[:200]:
        if len(optima) >= max(1, k) or not np.isfinite(res.f[i]):
            break
        if all(np.max(np.abs(res.x[i] - o)) > 1e-3 * (1 + np.max(np.abs(o))) for o in optima):
            optima.append(res.x[i])
    return np.array(optima)


def parameters_at_bounds(law, theta) -> dict:
    """{reported name: {side, bound, fit_parameter}} for each fitted parameter (optimiser coordinates) that ended
    on a bound of the law's box: the data did not pin it, and its bootstrap interval is not a real interval."""
    out = {}
    for name, value, (lo, hi) in zip(law.params, theta, law.box):
        for side, bound in (("lower", lo), ("upper", hi)):
            if np.isfinite(bound) and abs(value - bound) <= BOUND_TOLERANCE * max(abs(bound), 1.0):
                out[law.reported_name(name)] = {"side": side, "bound": float(bound), "fit_parameter": name}
    return out
