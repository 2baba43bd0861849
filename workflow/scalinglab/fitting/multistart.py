"""The point fit: every starting point of a law run by one batched optimiser, the best few polished, and the
diagnostics a reader needs to trust the optimum (how many starts reached it, why each start stopped)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UnfittableError
from .optimize import CONVERGED, Objective, Status, newton_batch, newton_landing, polish

RACE = (1, 2, 2, 4, 4)  # Newton racing rounds for large start grids (see optimize.newton_batch): short early rounds.
# Measured on Epoch AI's Chinchilla data and the 14 weak grids of the tests: the same optima as (4, 4, 4, 4), where
# those are weakly identified the same flags, with 47% fewer evaluations; (1, 1, 2, 2, 4, 4) saves 60% but leaves
# barely 100 of the 4,500 starts at Chinchilla's optimum.
RACE_FROM = 1000  # race only grids at least this large
FINISH_TOP = 8  # the best distinct end points that stopped short of convergence are run on to the end
CHECK_PRUNED = 64  # pruned starts, drawn at random, run to the end: a check that racing did not drop the best basin
FINISH_ITERATIONS = 1000
FINISH_IRLS = 8  # ... the first of them on the IRLS curvature: from where racing left a start, the exact Hessian of
# the Huber loss (zero outside its band) needs about 5 times as many steps to converge
CANDIDATES = 16
WARM_START_WITHIN = 2.0  # bootstrap warm starts: distinct converged optima with at most this times the best objective
COARSE_ROWS = 16384  # beyond this many rows the start grid is searched on a random subset of this size first


@dataclass
class PointFit:
    theta: np.ndarray  # fitted parameters, in the scaled coordinates of the optimiser
    objective: float
    diagnostics: dict
    local_optima: np.ndarray  # a few distinct converged end points (scaled coordinates): bootstrap warm starts
    candidates: np.ndarray  # up to CANDIDATES distinct good end points: the bootstrap's basin check starts from them


def input_scales(law, X) -> np.ndarray:
    if not law.scale_inputs:
        return np.ones(X.shape[0])
    return np.array([max(np.max(np.abs(row)), 1e-300) for row in X])


def point_fit(law, X, y, settings, starts=None):
    """Fit on raw arrays. Returns (theta in the law's own coordinates, PointFit, scales, scaled X, log y).
    Beyond COARSE_ROWS rows every start is run on a random COARSE_ROWS of them first, and only the distinct end
    points of that search (`PointFit.candidates`) on all the rows: the basins do not depend on having every row."""
    scales = input_scales(law, X)
    Xs = X / scales[:, None]
    logy = np.log(y)
    if starts is None:
        starts = np.asarray(law.starts(Xs, logy), dtype=float)
    coarse = None
    if logy.size > COARSE_ROWS and starts.shape[0] > CANDIDATES:
        rows = np.sort(np.random.default_rng(0).choice(logy.size, COARSE_ROWS, replace=False))
        coarse = multistart(law, Xs[:, rows], logy[rows], settings["huber_delta"], starts, settings)
        starts = coarse.candidates
    point = multistart(law, Xs, logy, settings["huber_delta"], starts, settings)
    if coarse is not None:
        point.diagnostics = {**coarse.diagnostics, "coarse_rows": COARSE_ROWS,
                             "refined": {k: point.diagnostics[k] for k in ("n_starts", "n_starts_at_optimum",
                                                                            "converged", "polish", "grad_norm")}}
        point.diagnostics["converged"] = point.diagnostics["refined"]["converged"]
        point.diagnostics["grad_norm"] = point.diagnostics["refined"]["grad_norm"]
    theta = law.unscale(point.theta, scales) if law.scale_inputs else point.theta
    return theta, point, scales, Xs, logy


def run_starts(law, objective, starts, settings, race=True, xtol=None, check=None):
    """One batched optimisation of every start: damped Newton (the law's exact Hessian where it has a fused one,
    else Gauss-Newton with IRLS weights), racing on large grids (check: newton_batch's pruned-start check, run in
    the same loop). Returns (BatchResult, a sentence naming it)."""
    rounds = RACE if race and starts.shape[0] >= RACE_FROM else ()
    name = "batched damped Newton (" + ("exact Hessian" if objective.has_hessian else "Gauss-Newton, IRLS weights")
    name += f"), racing: rounds {list(rounds)} iterations, keep 1/2 each" if rounds else ")"
    iterations = int(settings.get("max_iter", 100))
    return newton_batch(objective, starts, race=rounds, bounds=law.box, max_iter=iterations, xtol=xtol,
                        check=check), name


def multistart(law, Xs, logy, delta, starts, settings, weights=None) -> PointFit:
    objective = Objective(law, Xs, logy, delta, weights)
    res, optimizer = run_starts(law, objective, starts, settings, race=starts.shape[0] > 1,
                                check=(_check_sample, FINISH_IRLS, FINISH_ITERATIONS))
    if not np.isfinite(res.f).any():
        raise UnfittableError(f"law {law.name!r}: no starting point gave a finite objective on this data")
    pruned = res.status == Status.PRUNED
    check = _finish(law, objective, res, settings)
    finite = np.isfinite(res.f)
    order = np.argsort(np.where(finite, res.f, np.inf))
    best_batch = float(res.f[order[0]])
    best_theta, best_f, polish = _polish(law, objective, res, order, int(settings.get("polish", 3)))
    _, g = objective.value_grad(best_theta[None, :], np.array([0]))
    within = finite & np.isin(res.status, CONVERGED) & (res.f <= best_f * (1 + 1e-6) + 1e-300)
    counts = {Status(k).label: int(v) for k, v in zip(*np.unique(res.status, return_counts=True))}
    diagnostics = {
        "n_starts": int(starts.shape[0]),
        "n_starts_finite": int(finite.sum()),
        "best_start": int(order[0]),
        "best_start_point": {n: float(v) for n, v in zip(law.params, starts[order[0]])},
        "n_starts_at_optimum": int(within.sum()),
        "n_starts_pruned": int(pruned.sum()) - check["n_checked"],
        "n_starts_run_to_end": int((~pruned).sum()) + check["n_checked"],
        "racing_check": check,
        "optimizer": optimizer,
        "objective_batch": best_batch,
        "converged": bool(res.status[order[0]] in CONVERGED or (polish is not None and polish.success)),
        "iterations": int(res.iterations[order[0]]),
        "iterations_mean": float(res.iterations.mean()),
        "batch_evaluations": int(res.n_evals),
        "evaluations_per_start": float(res.n_evals / max(1, starts.shape[0])),
        "start_status": counts,
        "polish": None if polish is None else {
            "iterations": int(polish.nit),
            "success": bool(polish.success),
            "message": str(polish.message),
            "improvement": float(best_batch - best_f),
        },
        "grad_norm": float(np.max(np.abs(g))),
    }
    candidates = _distinct_optima(res, order, best_theta, CANDIDATES)
    # warm starts of the bootstrap: converged optima that a resample could prefer; a start stopped by the iteration
    # cap is not one, nor is a plateau 10 times worse (Chinchilla with alpha at 2), and each would cost every
    # resample a refit from a useless point. Resamples trapped by the warm starts are the basin check's job.
    near = np.isin(res.status[order], CONVERGED) & (res.f[order] <= WARM_START_WITHIN * best_f)
    converged = order[near]
    warm = _distinct_optima(res, converged, best_theta, max(1, int(settings.get("bootstrap_starts", 3))))
    return PointFit(best_theta, best_f, diagnostics, warm, candidates)


def _check_sample(pruned):
    """The pruned-start check's starts: CHECK_PRUNED of those racing pruned, drawn at random."""
    rng = np.random.default_rng(0)  # fixed: the same data give the same check
    return rng.choice(pruned, min(CHECK_PRUNED, pruned.size), replace=False) if pruned.size else pruned


def _finish(law, objective, res, settings) -> dict:
    """Run on to the end (in place in `res`) the best distinct end points that stopped short of convergence, and
    take in the random sample of the starts racing pruned that newton_batch ran to the end in the survivors' loop
    (`res.check`). Returns the racing check: how many pruned starts were run to the end and whether any of them beat
    the winner of the survivors (if one did, it is the winner now, and it is said)."""
    finite = np.isfinite(res.f)
    pruned = np.flatnonzero(res.status == Status.PRUNED)
    order = np.argsort(np.where(finite & (res.status != Status.PRUNED), res.f, np.inf))
    short = np.asarray([i for i in order[: 4 * FINISH_TOP] if finite[i] and res.status[i] not in CONVERGED]
                       [:FINISH_TOP], dtype=int)
    sample = res.check_index if res.check_index is not None else np.empty(0, dtype=int)
    runs = []
    if short.size:
        runs.append((short, newton_batch(objective, res.x[short], max_iter=FINISH_ITERATIONS, race=(),
                                         bounds=law.box, irls_iterations=FINISH_IRLS)))
    if sample.size:
        runs.append((sample, res.check))
    for idx, sub in runs:
        better = np.isfinite(sub.f) & ~(sub.f > res.f[idx])  # a pruned start's f was from its early iterations
        for name in ("x", "f", "grad", "status"):
            getattr(res, name)[idx[better]] = getattr(sub, name)[better]
        res.iterations[idx] += sub.iterations
    survivors = np.setdiff1d(np.flatnonzero(finite), pruned)
    winner = float(np.min(res.f[survivors])) if survivors.size else float("inf")
    checked = res.f[sample] if sample.size else np.empty(0)
    beat = checked < winner - 1e-9 * abs(winner)
    return {
        "n_checked": int(sample.size),
        "n_beat_winner": int(beat.sum()),
        "best_checked_objective": float(checked.min()) if checked.size else None,
        "winner_objective": winner,
        "n_finished": len(short),
    }


def _polish(law, objective, res, order, n_polish):
    """Refine the best few distinct end points with Newton steps on the exact curvature (`optimize.polish`); keep
    the best, landed on the optimum by one last Newton step (`optimize.newton_landing`)."""
    candidates = []
    for i in order:
        if not np.isfinite(res.f[i]) or len(candidates) >= max(1, n_polish):
            break
        if all(np.abs(res.x[i] - res.x[j]).max() > 1e-6 for j in candidates):
            candidates.append(i)
    best_theta, best_f, info = res.x[order[0]].copy(), float(res.f[order[0]]), None
    for i in candidates:
        p = polish(objective, res.x[i], law.box)
        if np.isfinite(p.fun) and p.fun < best_f:
            best_theta, best_f = np.array(p.x), float(p.fun)
        if i == order[0]:
            info = p
    best_theta, best_f = newton_landing(objective, best_theta, best_f, law.box)
    return best_theta, best_f, info


def _distinct_optima(res, order, best_theta, k):
    """The best end point and up to k-1 others that differ from it: warm starts for the bootstrap refits. In
    objective order (of the first 200, up to the first non-finite), each end point farther than 1e-3 (1 + max|o|)
    in some coordinate from every optimum o taken before it is taken."""
    optima = [best_theta]
    first = order[:200]
    finite = np.isfinite(res.f[first])
    candidates = res.x[first[: first.size if finite.all() else int(np.argmin(finite))]]
    far = np.ones(candidates.shape[0], bool)  # from every optimum taken so far
    while True:
        o = optima[-1]
        far &= np.abs(candidates - o).max(axis=1) > 1e-3 * (1 + np.abs(o).max())
        ahead = np.flatnonzero(far)
        if len(optima) >= max(1, k) or not ahead.size:
            return np.array(optima)
        optima.append(candidates[ahead[0]])
