"""Batched minimisation of summed Huber losses on log residuals.

``lbfgs_batch`` runs one L-BFGS per row of a ``(S, P)`` array of starting points, all at once: every iteration
evaluates the objective and gradient of every still-active start in one vectorised numpy call, the two-loop
recursion is batched, and the backtracking (Armijo) line search re-evaluates only the starts that need a shorter
step. Starts leave the batch as they converge. Box bounds are handled by projection.

The objective for batch element s is  sum_i w_si * huber_delta(log f(theta_s, x_i) - log y_i),
summed (not averaged: averaging shrinks the gradient and makes L-BFGS stop early, which is what went wrong in
Hoffmann et al. 2022; see Besiroglu et al. 2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


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

    @property
    def has_hessian(self):
        return self.law.fast_hessian is not None

    def value_grad_hess(self, theta, idx=None, curvature="exact", chunk=256):
        """(S,) objective, (S, P) gradient, (S, P, P) Hessian (law.fast_hessian); chunked to stay in cache."""
        S = theta.shape[0]
        W = None
        if not (self.weights.ndim == 1 and np.all(self.weights == 1)):
            W = self.weights[None, :] if self.weights.ndim == 1 else self.weights[idx]
        parts = []
        for lo in range(0, S, chunk):
            w = None if W is None else (W if W.shape[0] == 1 else W[lo : lo + chunk])
            parts.append(self.law.fast_hessian(theta[lo : lo + chunk], self.X, self.logy, w, self.delta, curvature))
        f, g, H = (np.concatenate(z) for z in zip(*parts)) if len(parts) > 1 else parts[0]
        bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1) | ~np.all(np.isfinite(H), axis=(1, 2))
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
        n = self.logy.shape[0]
        chunk = max(1, int(4e6 // max(1, n * P)))
        if chunk < S:
            fs, gs = [], []
            for lo in range(0, S, chunk):
                sub = None if idx is None else idx[lo : lo + chunk]
                f, g = self.value_grad(theta[lo : lo + chunk], sub if sub is not None else None)
                fs.append(f)
                gs.append(g)
            return np.concatenate(fs), np.concatenate(gs)
        if self.law.fast_objective is not None:
            W = None if (self.weights.ndim == 1 and np.all(self.weights == 1)) else self._w(idx)
            f, g = self.law.fast_objective(theta, self.X, self.logy, W, self.delta)
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


def _project(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _projected_grad(x, g, lo, hi):
    pg = g.copy()
    pg[(x <= lo) & (g > 0)] = 0.0
    pg[(x >= hi) & (g < 0)] = 0.0
    return pg


@dataclass
class _Memory:
    """L-BFGS curvature pairs of every start: m slots each, oldest first; rho = 0 marks an empty slot."""

    S: np.ndarray  # (starts, m, P) steps
    Y: np.ndarray  # (starts, m, P) gradient changes
    rho: np.ndarray  # (starts, m)
    gamma: np.ndarray  # (starts,) initial inverse-Hessian scale; 0: no pair yet

    @classmethod
    def empty(cls, n, m, P):
        return cls(np.zeros((n, m, P)), np.zeros((n, m, P)), np.zeros((n, m)), np.zeros(n))

    def direction(self, A, pg):
        """-H_k pg for starts A, by the two-loop recursion, batched. Returns (d, whether A had no pair yet)."""
        m = self.rho.shape[1]
        q = pg.copy()
        alphas = np.zeros((A.size, m))
        for j in range(m - 1, -1, -1):
            alphas[:, j] = self.rho[A, j] * np.einsum("sp,sp->s", self.S[A, j], q)
            q -= alphas[:, j : j + 1] * self.Y[A, j]
        first = self.gamma[A] == 0
        gam = np.where(first, 1.0 / np.maximum(np.max(np.abs(pg), axis=1), 1e-300), self.gamma[A])
        r = gam[:, None] * q
        for j in range(m):
            beta = self.rho[A, j] * np.einsum("sp,sp->s", self.Y[A, j], r)
            r += self.S[A, j] * (alphas[:, j] - beta)[:, None]
        return -r, first, gam

    def forget(self, A):
        self.rho[A] = 0.0
        self.gamma[A] = 0.0

    def push(self, A, s, y):
        """Add the pair (s, y) for starts A where it has positive curvature."""
        sy = np.einsum("sp,sp->s", s, y)
        yy = np.einsum("sp,sp->s", y, y)
        good = sy > 1e-12 * np.sqrt(np.einsum("sp,sp->s", s, s) * yy)
        Ag = A[good]
        for buf in (self.S, self.Y, self.rho):
            buf[Ag] = np.roll(buf[Ag], -1, axis=1)
        self.S[Ag, -1] = s[good]
        self.Y[Ag, -1] = y[good]
        self.rho[Ag, -1] = 1.0 / sy[good]
        self.gamma[Ag] = sy[good] / yy[good]


def _line_search(objective, A, xa, fa, ga, d, lo, hi, max_ls):
    """Backtracking (Armijo) for every start at once; only the starts that still need a shorter step are
    re-evaluated. Returns (x, f, g of the accepted points, indices into A that failed, evaluations)."""
    t = np.ones(A.size)
    xn, fn, gn = np.empty_like(xa), np.full(A.size, np.inf), np.zeros_like(xa)
    pending = np.arange(A.size)
    n_evals = 0
    for step in range(max_ls):
        if pending.size == 0:
            break
        cand = _project(xa[pending] + t[pending, None] * d[pending], lo, hi)
        fc, gc = objective.value_grad(cand, A[pending])
        n_evals += 1
        decrease = np.einsum("sp,sp->s", ga[pending], cand - xa[pending])
        ok = np.isfinite(fc) & (fc <= fa[pending] + 1e-4 * np.minimum(decrease, 0.0))
        sel = pending[ok]
        xn[sel], fn[sel], gn[sel] = cand[ok], fc[ok], gc[ok]
        pending = pending[~ok]
        t[pending] *= 0.5 if step < 5 else 0.1
    return xn, fn, gn, pending, n_evals


def _box(bounds, P):
    if not bounds:
        return np.full(P, -np.inf), np.full(P, np.inf)
    return np.array([b[0] for b in bounds], dtype=float), np.array([b[1] for b in bounds], dtype=float)


def lbfgs_batch(objective, x0, bounds=None, m=10, max_iter=500, ftol=1e-12, gtol=1e-11, max_ls=40):
    """Minimise objective.value_grad for every row of x0 at once (projected L-BFGS in the box `bounds`).
    Returns a BatchResult."""
    x = np.array(x0, dtype=float, copy=True)
    S, P = x.shape
    lo, hi = _box(bounds, P)
    x = _project(x, lo, hi)
    f, g = objective.value_grad(x, np.arange(S))
    n_evals = 1
    memory = _Memory.empty(S, m, P)
    iters = np.zeros(S, dtype=int)
    status = np.full(S, int(Status.MAX_ITERATIONS))
    status[~np.isfinite(f)] = Status.NOT_FINITE
    active = np.isfinite(f)
    for _ in range(max_iter):
        A = np.flatnonzero(active)
        pg = _projected_grad(x[A], g[A], lo, hi)
        done = np.max(np.abs(pg), axis=1) <= gtol if A.size else np.zeros(0, bool)
        status[A[done]] = Status.CONVERGED_GTOL
        active[A[done]] = False
        A, pg = A[~done], pg[~done]
        if A.size == 0:
            break
        xa, fa, ga = x[A], f[A], g[A]
        d, first, gam = memory.direction(A, pg)
        # keep feasible directions at active bounds; fall back to steepest descent if not a descent direction
        d[(xa <= lo) & (d < 0)] = 0.0
        d[(xa >= hi) & (d > 0)] = 0.0
        bad = ~(np.einsum("sp,sp->s", d, ga) < 0)
        if bad.any():
            d[bad] = -pg[bad] * np.where(first[bad], gam[bad], 1.0)[:, None]
            memory.forget(A[bad])
        xn, fn, gn, failed, evals = _line_search(objective, A, xa, fa, ga, d, lo, hi, max_ls)
        n_evals += evals
        status[A[failed]] = Status.LINE_SEARCH_STALLED  # stop them where they are
        active[A[failed]] = False
        moved = np.setdiff1d(np.arange(A.size), failed, assume_unique=True)
        if moved.size == 0:
            continue
        Am = A[moved]
        memory.push(Am, xn[moved] - xa[moved], gn[moved] - ga[moved])
        fold = f[Am]
        x[Am], f[Am], g[Am] = xn[moved], fn[moved], gn[moved]
        iters[Am] += 1
        small = (fold - f[Am]) <= ftol * np.maximum(np.maximum(np.abs(fold), np.abs(f[Am])), 1e-300)
        status[Am[small]] = Status.CONVERGED_FTOL
        active[Am[small]] = False
    return BatchResult(x=x, f=f, grad=g, iterations=iters, n_evals=n_evals, status=status)


def race_survivors(x, f, k, bins=3):
    """Which of the running starts (positions x, objectives f) survive a racing cut of k: the best k/2 by objective,
    then the best start of every other region of parameter space (each parameter cut into `bins` quantile bins),
    regions in order of their best objective, then the next best by objective. Pruning by objective alone keeps
    only the basin that leads early; on a weakly identified law the best basin can start slower."""
    order = np.argsort(f, kind="stable")
    keep = list(order[: k // 2])
    taken = np.zeros(f.size, bool)
    taken[keep] = True
    edges = [np.quantile(x[:, j], np.linspace(0, 1, bins + 1)[1:-1]) for j in range(x.shape[1])]
    cell = np.zeros(f.size, dtype=np.int64)
    for j, e in enumerate(edges):
        cell = cell * bins + np.searchsorted(e, x[:, j])
    seen = set(cell[keep].tolist())
    for i in order:
        if len(keep) >= k:
            break
        if not taken[i] and cell[i] not in seen:
            seen.add(cell[i])
            keep.append(i)
            taken[i] = True
    for i in order:
        if len(keep) >= k:
            break
        if not taken[i]:
            keep.append(i)
            taken[i] = True
    return np.array(keep)


def newton_batch(objective, x0, max_iter=100, race=(4, 4, 4, 4), keep=0.5, min_keep=64, max_step=4.0, tol=1e-11):
    """Batched damped Newton for every row of x0, with an exact P x P Hessian per start (objective.value_grad_hess).

    Steps: d = -V diag(1/(|lambda| + nu max|lambda|)) V^T g from the eigendecomposition of each start's Hessian
    (a saddle-free, Levenberg-damped Newton step, capped at max_step in every coordinate); a step is kept when it
    does not increase the objective (then nu shrinks), else nu grows and the start retries from where it was.
    Racing (successive halving): for the first sum(race) iterations the curvature is the IRLS one (robust far from
    the optimum); after each round of race[i] iterations a `keep` fraction of the still-running starts (at least
    min_keep) continues, chosen by `race_survivors` (the best, and the best of every region), the rest stop as
    Status.PRUNED where they are: they are NOT counted as converged. Then the exact Hessian takes the survivors to
    quadratic convergence: a start stops (Status.CONVERGED_NEWTON) when its Newton decrement g^T M^-1 g falls below
    tol * f. race=() runs every start to the end with the exact Hessian.
    Returns a BatchResult (iterations per start; n_evals = start-evaluations of f, g and H)."""
    x = np.array(x0, dtype=float, copy=True)
    S, P = x.shape
    race = tuple(int(r) for r in race)
    curvature = "irls" if race else "exact"
    f, g, H = objective.value_grad_hess(x, np.arange(S), curvature)
    n_evals = S
    nu = np.full(S, 1e-3)
    status = np.full(S, int(Status.MAX_ITERATIONS))
    status[~np.isfinite(f)] = Status.NOT_FINITE
    active = np.isfinite(f)
    iters = np.zeros(S, dtype=int)
    cuts = set(np.cumsum(race).tolist()) if race else set()
    for it in range(max_iter):
        if it in cuts:
            A = np.flatnonzero(active)
            k = max(int(A.size * keep), min_keep)
            if A.size > k:
                survivors = np.zeros(A.size, bool)
                survivors[race_survivors(x[A], f[A], k)] = True
                active[A[~survivors]] = False
                status[A[~survivors]] = Status.PRUNED
        if race and it == sum(race):
            curvature = "exact"
            A = np.flatnonzero(active)
            f[A], g[A], H[A] = objective.value_grad_hess(x[A], A, curvature)
            n_evals += A.size
            nu[A] = 1e-3
        A = np.flatnonzero(active)
        if A.size == 0:
            break
        d, dec = _newton_direction(H[A], g[A], nu[A])
        if curvature == "exact":
            done = dec <= tol * np.abs(f[A])
            status[A[done]] = Status.CONVERGED_NEWTON
            active[A[done]] = False
            A, d = A[~done], d[~done]
            if A.size == 0:
                break
        d /= np.maximum(np.max(np.abs(d), axis=1) / max_step, 1.0)[:, None]
        xt = x[A] + d
        ft, gt, Ht = objective.value_grad_hess(xt, A, curvature)
        n_evals += A.size
        ok = np.isfinite(ft) & (ft <= f[A])
        Aa = A[ok]
        x[Aa], f[Aa], g[Aa], H[Aa] = xt[ok], ft[ok], gt[ok], Ht[ok]
        iters[A] += 1
        nu[Aa] = np.maximum(nu[Aa] * 0.2, 1e-12)
        nu[A[~ok]] *= 10.0
        stalled = A[nu[A] > 1e6]
        status[stalled] = Status.LINE_SEARCH_STALLED
        active[stalled] = False
    return BatchResult(x=x, f=f, grad=g, iterations=iters, n_evals=int(n_evals), status=status)


def _newton_direction(H, g, nu):
    """Saddle-free, Levenberg-damped Newton steps and Newton decrements g^T M^-1 g, for a batch."""
    lam, V = np.linalg.eigh(H)
    la = np.abs(lam)
    la += nu[:, None] * la.max(axis=1, keepdims=True) + 1e-300
    gv = np.einsum("spq,sp->sq", V, g)
    gv /= la
    return -np.einsum("spq,sq->sp", V, gv), np.einsum("sq,sq->s", gv * la, gv)


def polish_scipy(objective, x0, bounds=None, ftol=1e-15, gtol=1e-12, maxiter=15000):
    """Refine one point with scipy's L-BFGS-B (analytic gradient) at tight tolerances."""
    from scipy.optimize import minimize

    def fg(theta):
        f, g = objective.value_grad(theta[None, :], np.array([0]))
        return float(f[0]), g[0]

    b = None
    if bounds is not None:
        b = [(None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi) for lo, hi in bounds]
    res = minimize(
        fg,
        np.asarray(x0, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=b,
        options={"ftol": ftol, "gtol": gtol, "maxiter": maxiter, "maxcor": 20},
    )
    return res
