"""Batched minimisation of summed Huber losses on log residuals.

``newton_batch`` runs one damped Newton per row of a ``(S, P)`` array of starting points, all at once: every
iteration evaluates the objective, gradient and curvature of every still-active start in one vectorised numpy call.
The curvature is Chinchilla's fused exact Hessian, or for any other law the Gauss-Newton matrix with IRLS weights
from its Jacobian (IRLS is the classical algorithm for M-estimators). Large start grids are raced. Box bounds are
handled by projection. ``polish`` refines one point with Newton steps on the exact curvature.

The objective for batch element s is  sum_i w_si * huber_delta(log f(theta_s, x_i) - log y_i),
summed (not averaged: averaging shrinks the gradient and makes L-BFGS stop early, which is what went wrong in
Hoffmann et al. 2022; see Besiroglu et al. 2024).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

CHUNK_ELEMENTS = 2**21  # numbers in one temporary (starts x rows x parameters): memory stays bounded at any size
CACHE_ELEMENTS = 2**14  # starts x rows of one kernel call, within that bound: its dozen (starts, rows) temporaries
# then stay in the CPU's cache (measured on Chinchilla's 240 rows: 64 starts a call 34% faster than 256)...
MIN_CHUNK = 16  # ... but never fewer starts a call than this, where the call's own overhead would dominate


def gauss_newton(law, theta, X, logy, W, delta, curvature="irls"):
    """Summed Huber objective, gradient and Gauss-Newton curvature J^T diag(w c) J of any law from its Jacobian,
    for a batch of starts. c is the IRLS weight min(1, delta/|r|) whatever `curvature` asks: the exact h'' is zero
    outside the Huber band, which would leave most points out, and the law's second derivatives are not needed."""
    with np.errstate(all="ignore"):
        lf, J = law.value_and_jacobian(theta, X)
        r = lf - logy[None, :]
        a = np.abs(r)
        h = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
        psi = np.clip(r, -delta, delta)
        c = np.where(a <= delta, 1.0, delta / np.maximum(a, 1e-300))
        if W is not None:
            h, psi, c = h * W, psi * W, c * W
        g = np.matmul(psi[:, None, :], J)[:, 0, :]  # batched BLAS, much faster than einsum here
        H = np.matmul(np.swapaxes(J * c[:, :, None], 1, 2), J)
    return h.sum(axis=1), g, H


def huber(r, delta):
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


class Objective:
    """Summed Huber objective of a law on data (X, logy) with per-batch-element weights."""

    def __init__(self, law, X, logy, delta, weights=None):
        self.law = law
        self.X = np.asarray(X, dtype=float)
        self.logy = np.asarray(logy, dtype=float)
        self.delta = float(delta)
        n = self.logy.shape[0]
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        self.unit_weights = self.weights.ndim == 1 and bool(np.all(self.weights == 1))
        # the fused kernels' view of X (Chinchilla: log N, log D and their features), made once, not per call
        self.fast_X = law.fast_inputs(self.X) if law.fast_inputs is not None else self.X

    @property
    def has_hessian(self):
        """Whether the law has the fused exact Hessian (Chinchilla); every law has a Gauss-Newton one."""
        return self.law.fast_hessian is not None

    def value_grad_hess(self, theta, idx=None, curvature="exact"):
        """(S,) objective, (S, P) gradient, (S, P, P) curvature: the law's fused exact Hessian where it has one,
        else the Gauss-Newton matrix with IRLS weights (`gauss_newton`). Chunked so that no temporary holds more
        than about CHUNK_ELEMENTS numbers, whatever the number of rows, and a call's temporaries fit in the cache."""
        S = theta.shape[0]
        idx = np.arange(S) if idx is None else idx
        W = None
        if not self.unit_weights:
            W = self.weights[None, :] if self.weights.ndim == 1 else self.weights[idx]
        if self.law.fast_hessian is not None:
            kernel, X = self.law.fast_hessian, self.fast_X
        else:
            kernel, X = functools.partial(gauss_newton, self.law), self.X
        n = max(1, self.logy.size)
        chunk = max(1, min(CHUNK_ELEMENTS // (n * theta.shape[1]), max(MIN_CHUNK, CACHE_ELEMENTS // n)))
        parts = []
        for lo in range(0, S, chunk):
            w = None if W is None else (W if W.shape[0] == 1 else W[lo : lo + chunk])
            parts.append(kernel(theta[lo : lo + chunk], X, self.logy, w, self.delta, curvature))
        f, g, H = (np.concatenate(z) for z in zip(*parts)) if len(parts) > 1 else parts[0]
        bad = ~np.isfinite(f) | ~np.isfinite(g).all(axis=1) | ~np.isfinite(H).all(axis=(1, 2))
        if bad.any():
            f = np.where(bad, np.inf, f)
            g[bad] = 0.0
            H[bad] = 0.0
        return f, g, H

    def _w(self, idx):
        if self.weights.ndim == 1:
            return self.weights[None, :]
        return self.weights[idx]

    def value_grad(self, theta, idx=None):
        """(S,) objective and (S, P) gradient; chunked to bound memory."""
        S, P = theta.shape
        idx = np.arange(S) if idx is None else idx
        n = self.logy.shape[0]
        chunk = max(1, int(4e6 // max(1, n * P)))
        if chunk < S:
            fs, gs = [], []
            for lo in range(0, S, chunk):
                f, g = self.value_grad(theta[lo : lo + chunk], idx[lo : lo + chunk])
                fs.append(f)
                gs.append(g)
            return np.concatenate(fs), np.concatenate(gs)
        if self.law.fast_objective is not None:
            W = None if self.unit_weights else self._w(idx)
            X = self.fast_X if self.law.fast_inputs is not None else self.X
            f, g = self.law.fast_objective(theta, X, self.logy, W, self.delta)
            bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
            f = np.where(bad, np.inf, f)
            g[bad] = 0.0
            return f, g
        with np.errstate(all="ignore"):
            lf, J = self.law.value_and_jacobian(theta, self.X)
            r = lf - self.logy[None, :]
            w = self._w(idx)
            f = np.sum(w * huber(r, self.delta), axis=1)
            psi = w * np.clip(r, -self.delta, self.delta)
            g = np.einsum("sn,snp->sp", psi, J)
        bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
        f = np.where(bad, np.inf, f)
        g[bad] = 0.0
        return f, g


class Status(IntEnum):
    """Why the optimiser stopped a start. The fit JSON's `start_status` counts them by `label`."""

    CONVERGED_FTOL = 0
    CONVERGED_GTOL = 1
    LINE_SEARCH_STALLED = 2
    MAX_ITERATIONS = 3
    NOT_FINITE = 4
    CONVERGED_NEWTON = 5  # the Newton decrement fell below tol * f
    PRUNED = 6  # stopped by racing: NOT converged

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Status.CONVERGED_FTOL: "converged (ftol)",
    Status.CONVERGED_GTOL: "converged (gtol)",
    Status.LINE_SEARCH_STALLED: "line search stalled",
    Status.MAX_ITERATIONS: "max iterations",
    Status.NOT_FINITE: "not finite",
    Status.CONVERGED_NEWTON: "converged (newton decrement)",
    Status.PRUNED: "pruned (racing)",
}
CONVERGED = (Status.CONVERGED_FTOL, Status.CONVERGED_GTOL, Status.CONVERGED_NEWTON)


@dataclass
class BatchResult:
    x: np.ndarray  # (S, P) final points
    f: np.ndarray  # (S,) final objectives (inf where the start never had a finite objective)
    grad: np.ndarray  # (S, P) final gradients
    iterations: np.ndarray  # (S,)
    n_evals: int  # batched evaluations
    status: np.ndarray  # (S,) a Status per start
    check: BatchResult | None = None  # newton_batch(check=...): the pruned starts run on to the end
    check_index: np.ndarray | None = None  # ... which starts they were


def _project(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _projected_grad(x, g, lo, hi):
    pg = g.copy()
    pg[(x <= lo) & (g > 0)] = 0.0
    pg[(x >= hi) & (g < 0)] = 0.0
    return pg


def _box(bounds, P):
    if not bounds:
        return np.full(P, -np.inf), np.full(P, np.inf)
    return np.array([b[0] for b in bounds], dtype=float), np.array([b[1] for b in bounds], dtype=float)


def race_survivors(x, f, k, bins=3):
    """Which of the running starts (positions x, objectives f) survive a racing cut of k: the best k/2 by objective,
    then the best start of every other region of parameter space (each parameter cut into `bins` quantile bins),
    regions in order of their best objective, then the next best by objective. Pruning by objective alone keeps
    only the basin that leads early; on a weakly identified law the best basin can start slower."""
    order = np.argsort(f, kind="stable")
    best = order[: k // 2]
    edges = np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1], axis=0)  # (bins - 1, P): one call for every parameter
    cell = np.zeros(f.size, dtype=np.int64)
    for j in range(x.shape[1]):
        cell = cell * bins + np.searchsorted(edges[:, j], x[:, j])
    # the best of each region the best k/2 leave out: each cell's first place in objective order (array operations
    # instead of a Python loop over thousands of starts, which cost ~2 ms a cut)
    rest = order[k // 2 :]
    _, first = np.unique(cell[rest], return_index=True)
    first.sort()
    regions = rest[first[~np.isin(cell[rest[first]], cell[best])]][: k - best.size]
    taken = np.zeros(f.size, bool)
    taken[best] = True
    taken[regions] = True
    fill = order[~taken[order]][: k - best.size - regions.size]
    return np.concatenate([best, regions, fill])


def newton_batch(objective, x0, max_iter=100, race=(4, 4, 4, 4), keep=0.5, min_keep=64, max_step=4.0, tol=1e-11,
                 bounds=None, xtol=None, irls_iterations=None, check=None):
    """Batched damped Newton for every row of x0, with a P x P curvature per start (objective.value_grad_hess:
    Chinchilla's exact Hessian, any other law's Gauss-Newton matrix with IRLS weights), in the box `bounds`.

    Steps: d = -(H + nu tr|H| I)^-1 g where that matrix is positive definite, else the saddle-free
    -V diag(1/(|lambda| + nu max|lambda|)) V^T g from H's eigendecomposition (`_newton_direction`: Levenberg-damped
    Newton steps, capped at max_step in every coordinate); a step is kept when it
    does not increase the objective (then nu shrinks), else nu grows and the start retries from where it was.
    For the first irls_iterations (default sum(race)) the curvature is the IRLS one (robust far from the optimum).
    Racing (successive halving): after each round of race[i] iterations a `keep` fraction of the still-running
    starts (at least min_keep) continues, chosen by `race_survivors` (the best, and the best of every region), the
    rest stop as Status.PRUNED where they are: they are NOT counted as converged. Then the exact Hessian takes the
    survivors to quadratic convergence: a start stops (Status.CONVERGED_NEWTON) when its Newton decrement
    g^T M^-1 g falls below tol * f, or (xtol, a (P,) array) when every coordinate of its Newton step is within xtol:
    bootstrap refits of many rows stop there (`bootstrap.refit`). race=() (and no irls_iterations) runs every start
    to the end with the exact Hessian. A step that leaves the box is projected back onto it (free coordinates keep
    their Newton step; a start pinned on a bound stops when it cannot go down).
    check=(choose, irls_iterations, max_iter): after the last racing cut, choose(pruned) (the indices of the starts
    racing pruned) names starts to run on to the end from where they were pruned, as if by their own
    newton_batch(..., race=(), irls_iterations=irls_iterations, max_iter=max_iter), but in the same kernel calls as the
    survivors (one loop, larger batches); their result is the BatchResult's `check` (with `check_index`).
    Returns a BatchResult (iterations per start; n_evals = start-evaluations of f, g and H)."""
    x = np.array(x0, dtype=float, copy=True)
    S, P = x.shape
    lo, hi = _box(bounds, P)
    x = _project(x, lo, hi)
    boxed = bool(np.isfinite(lo).any() or np.isfinite(hi).any())
    race = tuple(int(r) for r in race)
    warmup = sum(race) if irls_iterations is None else int(irls_iterations)
    f, g, H = objective.value_grad_hess(x, np.arange(S), "irls" if warmup else "exact")
    n_evals = [S, 0]  # of the starts x0, of the check's
    nu = np.full(S, 1e-3)
    status = np.full(S, int(Status.MAX_ITERATIONS))
    status[~np.isfinite(f)] = Status.NOT_FINITE
    active = np.isfinite(f)
    iters = np.zeros(S, dtype=int)
    # per row: the iteration from which its curvature is the exact one and the iteration it stops at (the check's
    # rows, appended after the last cut, count their own iterations from there)
    exact_from = np.full(S, warmup)
    stop_at = np.full(S, int(max_iter))
    joined = np.zeros(S, dtype=int)
    origin = np.arange(S)  # the start each row is (for per-start weights)
    cuts = set(np.cumsum(race).tolist()) if race else set()
    last_cut = max(cuts) if cuts else -1
    warmups_end = {warmup}  # the values of exact_from: only there can a row switch curvature
    check_index = None
    it = 0
    while True:
        if it in cuts and it < max_iter:
            _prune(x[:S], f[:S], active[:S], status[:S], max(int(active[:S].sum() * keep), min_keep))
        # the check joins after the last cut, or where the starts x0 end before it (all stopped, or max_iter)
        if check is not None and check_index is None and (it == last_cut or not (active & (it < stop_at)).any()):
            choose, check_irls, check_iter = check
            check_index = np.asarray(choose(np.flatnonzero(status[:S] == Status.PRUNED)), dtype=int)
            if check_index.size:
                rows = (x, f, g, H, nu, status, active, iters, exact_from, joined, origin, stop_at)
                extra = _check_rows(objective, x, check_index, check_irls, check_iter, it, n_evals)
                x, f, g, H, nu, status, active, iters, exact_from, joined, origin, stop_at = (
                    np.concatenate([a, b]) for a, b in zip(rows, extra))
                warmups_end.add(it + int(check_irls))
        active &= it < stop_at
        switch = np.flatnonzero(active & (exact_from == it) & (joined < it)) if it in warmups_end else ()
        if len(switch):  # the IRLS warm-up ends: the exact curvature from here
            f[switch], g[switch], H[switch] = _evaluate(objective, x[switch], switch, S, origin, "exact", n_evals)
            nu[switch] = 1e-3
        A = np.flatnonzero(active)
        if A.size == 0:
            break
        exact = exact_from[A] <= it
        gA = _projected_grad(x[A], g[A], lo, hi) if boxed else g[A]
        d, dec = _newton_direction(H[A], gA, nu[A])
        if exact.any():
            done = exact & (dec <= tol * np.abs(f[A]))
            if xtol is not None:
                done |= exact & (A < S) & np.all(np.abs(d) <= xtol, axis=1)
            status[A[done]] = Status.CONVERGED_NEWTON
            active[A[done]] = False
            A, d, exact = A[~done], d[~done], exact[~done]
            if A.size == 0:
                it += 1  # back to the top, where a pending check joins, or the loop ends
                continue
        longest = np.abs(d).max(axis=1)
        if not longest.max() <= max_step:  # (a step within the cap would be divided by 1.0)
            d /= np.maximum(longest / max_step, 1.0)[:, None]
        xt = _project(x[A] + d, lo, hi) if boxed else x[A] + d
        ft, gt, Ht = _evaluate_rows(objective, xt, A, exact, S, origin, n_evals)
        _accept(A, (xt, ft, gt, Ht), (x, f, g, H), nu, iters, status, active)
        it += 1
    result = BatchResult(x=x[:S], f=f[:S], grad=g[:S], iterations=iters[:S], n_evals=int(n_evals[0]),
                         status=status[:S])
    if check_index is not None:
        result.check_index = check_index
        result.check = BatchResult(x=x[S:], f=f[S:], grad=g[S:], iterations=iters[S:], n_evals=int(n_evals[1]),
                                   status=status[S:])
    return result


def _accept(A, trial, rows, nu, iters, status, active):
    """In place: the rows A take their trial points (x, f, g, H) where f does not increase (then nu shrinks), else
    keep theirs (nu grows); a row whose nu passes 1e6 stops, its line search stalled."""
    xt, ft, gt, Ht = trial
    x, f, g, H = rows
    ok = np.isfinite(ft) & (ft <= f[A])
    Aa = A[ok]
    x[Aa], f[Aa], g[Aa], H[Aa] = xt[ok], ft[ok], gt[ok], Ht[ok]
    iters[A] += 1
    nu_A = nu[A]
    nu_A = np.where(ok, np.maximum(nu_A * 0.2, 1e-12), nu_A * 10.0)
    nu[A] = nu_A
    stalled = A[nu_A > 1e6]
    status[stalled] = Status.LINE_SEARCH_STALLED
    active[stalled] = False


def _check_rows(objective, x, check_index, irls_iterations, max_iter, it, n_evals):
    """newton_batch's per-row arrays for the pruned-start check's starts, joining the loop at iteration `it`: x, f,
    g, H, nu, status, active, iterations, exact_from, joined, origin, stop_at (in newton_batch's order)."""
    k = check_index.size
    xc = x[check_index]
    fc, gc, Hc = objective.value_grad_hess(xc, check_index, "irls" if irls_iterations else "exact")
    n_evals[1] += k
    status = np.where(np.isfinite(fc), int(Status.MAX_ITERATIONS), int(Status.NOT_FINITE))
    return (xc, fc, gc, Hc, np.full(k, 1e-3), status, np.isfinite(fc), np.zeros(k, dtype=int),
            np.full(k, it + int(irls_iterations)), np.full(k, it), check_index, np.full(k, it + int(max_iter)))


def _evaluate_rows(objective, x, rows, exact, S, origin, n_evals):
    """`_evaluate` of a step's trial points, each on its row's curvature (exact: the rows past their IRLS warm-up;
    the check's rows may still be in theirs beside survivors on the exact curvature)."""
    if exact.all() or not exact.any():
        return _evaluate(objective, x, rows, S, origin, "exact" if exact.all() else "irls", n_evals)
    P = x.shape[1]
    f, g, H = np.empty(rows.size), np.empty((rows.size, P)), np.empty((rows.size, P, P))
    for part, curvature in ((exact, "exact"), (~exact, "irls")):
        f[part], g[part], H[part] = _evaluate(objective, x[part], rows[part], S, origin, curvature, n_evals)
    return f, g, H


def _evaluate(objective, x, rows, S, origin, curvature, n_evals):
    """objective.value_grad_hess at x for the rows `rows` of newton_batch's arrays (origin: the start of each row,
    whose weights it has), counting the evaluations of the starts x0 (rows below S) and of the check's."""
    check = int(np.count_nonzero(rows >= S))
    n_evals[0] += rows.size - check
    n_evals[1] += check
    return objective.value_grad_hess(x, origin[rows], curvature)


def _prune(x, f, active, status, k):
    """A racing cut, in place: of the running starts, k continue (`race_survivors`), the rest become PRUNED."""
    A = np.flatnonzero(active)
    if A.size > k:
        survivors = np.zeros(A.size, bool)
        survivors[race_survivors(x[A], f[A], k)] = True
        active[A[~survivors]] = False
        status[A[~survivors]] = Status.PRUNED


def _newton_direction(H, g, nu):
    """Levenberg-damped Newton steps and Newton decrements g^T M^-1 g, for a batch. M = H + nu tr|H| I where
    that is positive definite (one batched LAPACK solve, 0.3 us a 5x5 matrix); elsewhere (a saddle or a maximum)
    the saddle-free V diag(|lambda| + nu max|lambda|) V^T from the eigendecomposition (LAPACK's eigh, 2 us a matrix),
    only for those starts."""
    P = H.shape[1]
    M = H.copy()
    diagonal = M.reshape(-1, P * P)[:, :: P + 1]  # a view of each matrix's diagonal
    shift = nu * np.abs(diagonal).sum(axis=1) + 1e-300  # >= max|lambda| where H >= 0
    diagonal += shift[:, None]
    pd = _positive_definite(M)
    step = _solve(M, g, pd)
    d, dec = -step, np.einsum("sp,sp->s", g, step)
    if not pd.all():
        bad = np.flatnonzero(~pd)
        d[bad], dec[bad] = _saddle_free_direction(H[bad], g[bad], nu[bad])
    return d, dec


_LAPACK = getattr(np.linalg, "_umath_linalg", None)  # numpy's LAPACK gufuncs behind np.linalg: a matrix of a stack
# that fails gives NaNs (np.linalg raises for the whole stack), and a call skips np.linalg's checks (~3 us)


def _positive_definite(M):
    """Whether each matrix of the stack M is positive definite: by LAPACK's batched Cholesky (0.2 us a 5x5
    matrix), whose gufunc fills a matrix that fails with NaN. Eigenvalues where a numpy release no longer has it."""
    cholesky = getattr(_LAPACK, "cholesky_lo", None)
    if cholesky is None:
        return np.linalg.eigvalsh(M)[:, 0] > 0
    with np.errstate(invalid="ignore"):
        return ~np.isnan(cholesky(M)[:, -1, -1])


def _solve(M, g, pd):
    """M^-1 g for each matrix of the stack (LAPACK's gesv, as np.linalg.solve) where it is positive definite (pd);
    the other rows are what gesv gives them, or NaN, for the caller to replace."""
    solve = getattr(_LAPACK, "solve1", None)
    if solve is not None:
        with np.errstate(all="ignore"):
            return solve(M, g)
    step = np.full_like(g, np.nan)
    step[pd] = np.linalg.solve(M[pd], g[pd, :, None])[:, :, 0]
    return step


def _saddle_free_direction(H, g, nu):
    """Saddle-free, Levenberg-damped Newton steps -V diag(1/(|lambda| + nu max|lambda|)) V^T g and the decrements,
    from the eigendecomposition H = V diag(lambda) V^T: for the starts where H + nu tr|H| I is not positive
    definite."""
    lam, V = getattr(_LAPACK, "eigh_lo", np.linalg.eigh)(H)
    la = np.abs(lam)
    la += nu[:, None] * la.max(axis=1, keepdims=True) + 1e-300
    gv = np.einsum("spq,sp->sq", V, g)
    gv /= la
    return -np.einsum("spq,sq->sp", V, gv), np.einsum("sq,sq->s", gv * la, gv)


@dataclass
class PolishResult:
    x: np.ndarray
    fun: float
    nit: int
    success: bool
    message: str


def polish(objective, x0, bounds=None, max_iter=100, tol=1e-15, floor=1e-10):
    """Refine one point with damped Newton steps on the exact curvature: the law's fused Hessian where it has one,
    else central differences of its analytic gradient (2P gradients in one batched call). The fixed point is where
    the analytic gradient vanishes, so a differenced Hessian costs convergence speed, never accuracy. Converged when
    the Newton decrement falls below tol * |f| (or, when no step lowers f any more, below floor * |f|: rounding).
    numpy only: `scalinglab fit` never imports scipy for it."""
    x = np.asarray(x0, dtype=float).copy()
    P = x.size
    lo, hi = _box(bounds, P)
    x = _project(x, lo, hi)
    f, g, H = _curvature(objective, x)
    nu, iterations, dec, message = 1e-9, 0, np.inf, "max iterations"
    if not np.isfinite(f):
        return PolishResult(x, float(f), 0, False, "not finite")
    while iterations < max_iter:
        iterations += 1
        pg = _projected_grad(x[None], g[None], lo, hi)
        d, dec = (v[0] for v in _newton_direction(H[None], pg, np.array([nu])))
        if dec <= tol * abs(f):
            message = "converged (newton decrement)"
            break
        xt = _project(x + d, lo, hi)
        ft = float(objective.value_grad(xt[None], np.array([0]))[0][0])
        if np.isfinite(ft) and ft < f:
            x = xt
            f, g, H = _curvature(objective, x)
            nu = max(nu * 0.1, 1e-15)
            continue
        nu *= 10.0
        if nu > 1e6:
            message = "no step lowers the objective"
            break
    return PolishResult(x, float(f), iterations, bool(dec <= floor * abs(f)), message)


def newton_landing(objective, x, f, bounds=None, tol=1e-15, rise=1e-10):
    """One last Newton step from a converged point x (objective f). Near an optimum f changes with the squared
    distance, so where polish's decrement criterion (tol * |f|) stops, f no longer tells apart points within about
    sqrt(tol) (relative) of the optimum: each start ends somewhere in that region, and rounding decides which end
    point wins (parameters then differ by ~1e-9 between two builds whose objectives agree to 1e-15). The Newton step
    from any of them lands on the optimum to rounding: taken when it is that small (every coordinate within
    sqrt(tol) (1 + |x|)) and f does not rise by more than `rise` (relative) there. Returns (x, f)."""
    lo, hi = _box(bounds, x.size)
    f_here, g, H = _curvature(objective, x)
    if not np.isfinite(f_here):
        return x, f
    d = _newton_direction(H[None], _projected_grad(x[None], g[None], lo, hi), np.array([1e-15]))[0][0]
    if not np.all(np.abs(d) <= np.sqrt(tol) * (1 + np.abs(x))):
        return x, f
    xt = _project(x + d, lo, hi)
    ft = float(objective.value_grad(xt[None], np.array([0]))[0][0])
    return (xt, ft) if np.isfinite(ft) and ft <= f + rise * abs(f) else (x, f)


def _curvature(objective, x):
    """(f, g, H) at one point: the fused exact Hessian, or central differences of the analytic gradient."""
    if objective.has_hessian:
        f, g, H = objective.value_grad_hess(x[None], np.array([0]), "exact")
        return float(f[0]), g[0], H[0]
    P = x.size
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    points = np.vstack([x, x + np.diag(h), x - np.diag(h)])
    values, grads = objective.value_grad(points, np.zeros(2 * P + 1, dtype=int))
    H = (grads[1 : P + 1] - grads[P + 1 :]) / (2 * h[:, None])
    H = 0.5 * (H + H.T)
    if not np.all(np.isfinite(H)):
        H = np.eye(P) * max(1.0, float(np.max(np.abs(grads[0]))))
    return float(values[0]), grads[0], H
