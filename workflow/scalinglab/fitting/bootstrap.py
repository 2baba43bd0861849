"""Bootstrap intervals: resampling weights (rows, or whole groups of rows), the batched refits warm-started from
the point fit's optima, the jackknife for BCa, and the percentile / BCa interval of a set of draws."""

from __future__ import annotations

import numpy as np

from .multistart import COARSE_ROWS, RACE, PointFit, run_starts
from .optimize import CONVERGED, Objective, newton_batch

REDRAWS = 50  # rounds of redrawing resamples that leave a size out
MEMORY_ELEMENTS = 2**23  # resample weights held at once (numbers): 64 MB; a refit holds a few such arrays
MAX_JACKKNIFE = 200  # jackknife units beyond which rows are dealt into this many blocks
INTERVAL_METHODS = ("percentile", "bca")
MIN_DRAWS = 10  # fewer finite bootstrap draws than this give no interval (a band from 3 draws is not a band)
BASIN_CHECKS = 8  # resamples refitted from a wide set of starts, as a check on the warm-started refits
BASIN_STARTS = 64  # of the law's starting points, drawn at random, for that check (all if fewer)
LARGE_ROWS = 20_000  # from this many rows a refit starts one Newton step away from the point fit (`one_step`)
STEP_TOL = 2e-3  # ... and stops when its Newton step is below this fraction of each parameter's standard error
MAX_STEP_SE = 50.0  # a one-step move larger than this many standard errors is not trusted (the refit starts as before)


def resample_weights(n, groups, B, rng, levels=None):
    """(B, n) integer weights: how often each row is drawn. groups None: rows are resampled; else the distinct
    group labels are, every row of a drawn group with it. `levels` (a size level per row): a resample that leaves a
    whole level out is drawn again (up to REDRAWS rounds), when that is not too rare, i.e. when units are rows
    and each level holds at least two. The design, which sizes were trained, is the researcher's choice, not a
    random draw; a resample without the largest size is another, weaker design, and its fits make the intervals
    too wide (coverage 1.0 on 7 sizes x 2 seeds). Returns (weights, number of units)."""
    if groups is None:
        inverse, G = np.arange(n), n
    else:
        labels, inverse = np.unique(groups, return_inverse=True)
        G = labels.size
    counts = _draw_counts(G, B, rng)
    if levels is not None and groups is None and np.bincount(levels).min() >= 2:
        for _ in range(REDRAWS):
            missing = np.flatnonzero(_misses_a_level(counts[:, inverse], levels))
            if not missing.size:
                break
            counts[missing] = _draw_counts(G, missing.size, rng)
    return counts[:, inverse], G


def _draw_counts(G, B, rng):
    picks = rng.integers(0, G, size=(B, G))
    picks += np.arange(B)[:, None] * G  # one bin per (resample, unit): a bincount, far faster than np.add.at
    return np.bincount(picks.ravel(), minlength=B * G).reshape(B, G).astype(float)


def _misses_a_level(W, levels):
    present = np.zeros((W.shape[0], levels.max() + 1))
    np.add.at(present.T, levels, (W > 0).T.astype(float))
    return (present == 0).any(axis=1)


def jackknife_units(n, groups, rng=None) -> np.ndarray:
    """The unit each row belongs to for the leave-one-unit-out jackknife: rows, or groups; beyond MAX_JACKKNIFE
    units, rows are dealt at random into MAX_JACKKNIFE blocks (the delete-a-group jackknife), so BCa stays
    affordable at any size."""
    unit = np.arange(n) if groups is None else np.unique(groups, return_inverse=True)[1].ravel()
    G = int(unit.max()) + 1
    if G <= MAX_JACKKNIFE:
        return unit
    rng = rng or np.random.default_rng(0)
    return rng.permutation(np.arange(G) % MAX_JACKKNIFE)[unit]


def in_chunks(B, n, k):
    """Slices of B resamples such that the weights of one slice, (resamples x k starts) x n rows, stay within
    MEMORY_ELEMENTS numbers: a million rows with the default 1,000 resamples never holds more than that."""
    size = max(1, MEMORY_ELEMENTS // max(1, n * k))
    return [slice(lo, min(B, lo + size)) for lo in range(0, B, size)]


def refit(law, Xs, logy, delta, point: PointFit, W, settings, starts=None):
    """Refit every weight vector (row of W) from each of `starts` (default: the point fit's distinct optima); keep
    the best per row. Returns ((B, P) fitted parameters in scaled coordinates, NaN rows where no start gave a finite
    objective, (B,) objectives, {n_failed, n_not_converged})."""
    B = W.shape[0]
    starts = point.local_optima if starts is None else starts
    k = starts.shape[0]
    x0 = np.repeat(starts[None, :, :], B, axis=0).reshape(B * k, -1)
    xtol = None
    if logy.size >= LARGE_ROWS:
        x0, xtol = one_step(law, Xs, logy, delta, starts, W)
    objective = Objective(law, Xs, logy, delta, np.repeat(W, k, axis=0))
    res, _ = run_starts(law, objective, x0, settings, race=False, xtol=xtol)
    f = res.f.reshape(B, k)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    rows = np.arange(B)
    theta = res.x.reshape(B, k, -1)[rows, best]
    f = f[rows, best]
    ok = np.isfinite(f)
    status = res.status.reshape(B, k)[rows, best]
    theta[~ok] = np.nan
    return theta, f, {"n_failed": int((~ok).sum()), "n_not_converged": int((~np.isin(status, CONVERGED) & ok).sum())}


def one_step(law, Xs, logy, delta, starts, W):
    """Many rows: each resample's refit starts one Newton step from each start, the step computed from the rows'
    terms at that start, shared by every resample (gradient and curvature of resample b are W[b] @ per-row terms: one
    matrix product), so a refit costs a few evaluations of the objective instead of tens. The curvature is Huber's
    expected one, Gauss-Newton with psi' (1 inside the band, 0 outside). Returns ((B * k, P) starting points in
    the order of refit's x0, (P,) step tolerance: STEP_TOL times the sandwich standard error at the first start,
    the scale of the bootstrap spread the refits must resolve)."""
    B, P = W.shape[0], starts.shape[1]
    lo, hi = (np.array(side, dtype=float) for side in zip(*law.box)) if law.box else (-np.inf, np.inf)
    out = np.repeat(starts[None, :, :], B, axis=0)
    se = None
    for s, theta in enumerate(starts):
        with np.errstate(all="ignore"):
            lf, J = law.value_and_jacobian(theta[None, :], Xs)
            r, J = lf[0] - logy, J[0]
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(J))):
            continue  # this start keeps its own point: the refit's usual path
        psi = np.clip(r, -delta, delta)
        inside = (np.abs(r) <= delta).astype(float)
        se = _standard_errors(J, psi, inside) if se is None else se
        if se is None:
            continue
        outer = (J[:, :, None] * J[:, None, :]).reshape(-1, P * P)  # (n, P*P)
        g = W @ (psi[:, None] * J)  # (B, P)
        H = (W @ (inside[:, None] * outer)).reshape(B, P, P)
        with np.errstate(all="ignore"):
            step = np.linalg.pinv(H) @ g[..., None]
        step = step[..., 0]
        # a resample whose step is not small against the spread (a degenerate curvature) keeps the start itself
        sane = np.all(np.isfinite(step), axis=1) & np.all(np.abs(step) <= MAX_STEP_SE * se, axis=1)
        out[sane, s] = np.minimum(np.maximum(theta[None, :] - step[sane], lo), hi)
    return out.reshape(B * starts.shape[0], P), None if se is None else STEP_TOL * se


def _standard_errors(J, psi, inside) -> np.ndarray | None:
    """Sandwich standard errors A^-1 B A^-1 of an M-estimator (A = sum psi' J J^T, B = sum psi^2 J J^T); None where
    they are not finite (the caller then keeps the decrement test alone)."""
    A = J.T @ (inside[:, None] * J)
    Bm = J.T @ (psi[:, None] ** 2 * J)
    with np.errstate(all="ignore"):
        try:
            Ai = np.linalg.inv(A)
        except np.linalg.LinAlgError:
            return None
        se = np.sqrt(np.abs(np.diag(Ai @ Bm @ Ai)))
    return se if np.all(np.isfinite(se)) and np.all(se > 0) else None


class Resamples:
    """Bootstrap resample weights (`resample_weights`) drawn in order from a seed; restart() draws the same again."""

    def __init__(self, n, groups, seed, levels=None):
        self.n, self.groups, self.seed, self.levels = n, groups, seed, levels
        self.n_units = n if groups is None else np.unique(groups).size
        self.restart()

    def restart(self):
        self.rng = np.random.default_rng(self.seed)

    def __call__(self, count):
        return resample_weights(self.n, self.groups, count, self.rng, self.levels)[0]


class Jackknife:
    """Leave-one-unit-out weights (`jackknife_units`), handed out in order; restart() starts again."""

    def __init__(self, n, groups):
        self.unit = jackknife_units(n, groups)
        self.n_units = int(self.unit.max()) + 1
        self.restart()

    def restart(self):
        self.next = 0

    def __call__(self, count):
        left_out = np.arange(self.next, self.next + count)
        self.next += count
        return (self.unit[None, :] != left_out[:, None]).astype(float)


def refit_all(law, Xs, logy, delta, point: PointFit, settings, draw, B, starts, keep=()):
    """Refit B weight vectors from `draw` in memory-bounded chunks (`in_chunks`). Returns ((B, P) parameters, (B,)
    objectives, {n_failed, n_not_converged}, the weight vectors of the resamples listed in `keep`)."""
    draw.restart()
    thetas, fs, kept, failed, not_converged = [], [], [], 0, 0
    for part in in_chunks(B, logy.size, starts.shape[0]):
        W = draw(part.stop - part.start)
        theta, f, info = refit(law, Xs, logy, delta, point, W, settings, starts=starts)
        thetas.append(theta)
        fs.append(f)
        failed += info["n_failed"]
        not_converged += info["n_not_converged"]
        kept += [W[i - part.start] for i in keep if part.start <= i < part.stop]
    return (np.concatenate(thetas), np.concatenate(fs), {"n_failed": failed, "n_not_converged": not_converged},
            np.array(kept))


def bootstrap_refits(law, Xs, logy, delta, point: PointFit, settings, draw, B, check_rng, workers: int = 1):
    """Refit B bootstrap resamples from the point fit's optima, then check the basins (`check_basins`, in up to
    `workers` processes) on a few of them; if the check found better optima, every resample is refitted with them
    added (the same draws). Returns ((B, P) fitted parameters in scaled coordinates, {n_failed, n_not_converged,
    basin_check})."""
    sample = np.sort(check_rng.choice(B, min(BASIN_CHECKS, B), replace=False))
    theta, f, info, kept = refit_all(law, Xs, logy, delta, point, settings, draw, B, point.local_optima, sample)
    found, check = check_basins(law, Xs, logy, delta, point, kept, f[sample], check_rng, workers)
    if found:
        starts = np.vstack([point.local_optima] + found)
        theta, f, info, _ = refit_all(law, Xs, logy, delta, point, settings, draw, B, starts)
        check["refitted"] = True
    return theta, {**info, "basin_check": check}


def check_basins(law, Xs, logy, delta, point: PointFit, W, f, rng, workers: int = 1):
    """A cheap check that warm starts did not trap resamples in the wrong basin: resamples W (with their refitted
    objectives f) are refitted from a wide set of starts, the point fit's distinct end points and BASIN_STARTS of
    the law's own starting points drawn at random, every start run to the end. Returns (the better optima found,
    the check's record). The resamples are checked side by side in up to `workers` processes (fitting.workers; up
    to backtest.PARALLEL_ROWS rows): the same results for any number."""
    from .backtest import PARALLEL_ROWS
    from .workers import InBackground

    grid = np.asarray(law.starts(Xs, logy), dtype=float)
    if grid.shape[0] > BASIN_STARTS:
        grid = grid[np.sort(rng.choice(grid.shape[0], BASIN_STARTS, replace=False))]
    wide = np.vstack([point.candidates, grid])
    rows = slice(None)
    if logy.size > COARSE_ROWS:  # search on a random subset of rows, refine the best end point on all of them
        rows = np.sort(rng.choice(logy.size, COARSE_ROWS, replace=False))
    checks = InBackground(lambda weights: _best_from_wide_starts(law, Xs, logy, delta, weights, wide, rows), list(W),
                          workers if logy.size <= PARALLEL_ROWS else 1)
    found, gains = [], []
    for (best, value), refitted in zip(checks.results(), f):
        if value < refitted * (1 - 1e-6):
            found.append(best)
            gains.append((refitted - value) / refitted)
    return found, {"n_checked": len(f), "n_better": len(found), "max_relative_improvement": max(gains, default=0.0),
                   "refitted": False}


def _best_from_wide_starts(law, Xs, logy, delta, weights, wide, rows) -> tuple[np.ndarray, float]:
    """(best end point (1, P), its objective) of one resample's refit from every start in `wide`: racing's curvature
    schedule, nothing pruned, on `rows` (then the best end point refined on all rows when `rows` is a subset)."""
    res = newton_batch(Objective(law, Xs[:, rows], logy[rows], delta, weights[rows]), wide, race=RACE, keep=1.0,
                       bounds=law.box)
    best = res.x[[int(np.argmin(np.where(np.isfinite(res.f), res.f, np.inf)))]]
    if not isinstance(rows, slice):
        xtol = one_step(law, Xs, logy, delta, best, weights[None, :])[1] if logy.size >= LARGE_ROWS else None
        best = newton_batch(Objective(law, Xs, logy, delta, weights), best, race=(), bounds=law.box, xtol=xtol).x
    return best, float(Objective(law, Xs, logy, delta, weights).value_grad(best)[0][0])


def t_expansion(ci, dof) -> float:
    """t_dof / z at the interval's level: how much wider a Student-t interval with `dof` degrees of freedom is than
    the normal one. Bootstrap draws estimate the spread from G units; with G - P degrees of freedom left after P
    parameters, the interval is widened by this factor around the point estimate (1 for large dof)."""
    # scipy.special's quantile functions are what scipy.stats' t.ppf and norm.ppf compute, to the bit, without the
    # 0.4-0.5 s import of scipy.stats that every `scalinglab fit` with a bootstrap paid
    from scipy.special import ndtri, stdtrit

    if not dof or dof < 1:
        return 1.0
    q = 0.5 + ci / 2
    return float(stdtrit(dof, q) / ndtri(q))


def widen(draws, point, ci, dof):
    """Bootstrap draws spread about the point estimate by t_expansion(ci, dof): their percentiles are then the
    widened percentile interval (for curves and bands, as `interval` does for parameters)."""
    return point + t_expansion(ci, dof) * (np.asarray(draws, dtype=float) - point)


def interval(samples, ci, point=None, jack=None, dof=None):
    """Percentile interval of bootstrap draws; BCa (Efron 1987) when the point estimate and the jackknife
    (leave-one-unit-out) values are given: bias correction z0 from the share of draws below the point estimate,
    acceleration from the jackknife skewness. [None, None] with fewer than MIN_DRAWS finite draws. `dof`: widen by
    t_expansion about the point estimate (on the log scale when the point and every draw are positive)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size < MIN_DRAWS:
        return [None, None]
    q = np.array([0.5 * (1 - ci), 1 - 0.5 * (1 - ci)])
    if point is not None and jack is not None and np.isfinite(point):
        q = _bca_levels(samples, q, point, jack)
    lo, hi = np.percentile(samples, 100 * q)
    if dof and point is not None and np.isfinite(point):
        c = t_expansion(ci, dof)
        if point > 0 and samples.min() > 0:
            # a positive quantity (A, B, N_opt, ...) is widened on the log scale: linearly, a wide interval of B
            # would reach below zero, outside what the law can take
            lo, hi = point * (lo / point) ** c, point * (hi / point) ** c
        else:
            lo, hi = point - c * (point - lo), point + c * (hi - point)
    return [float(lo), float(hi)]


def _bca_levels(samples, q, point, jack):
    from scipy.special import ndtr, ndtri  # norm.cdf and norm.ppf (see t_expansion)

    jack = np.asarray(jack, dtype=float)
    jack = jack[np.isfinite(jack)]
    below = (np.sum(samples < point) + 0.5 * np.sum(samples == point)) / samples.size
    if jack.size < 3 or not 0 < below < 1:
        return q
    z0 = ndtri(below)
    d = jack.mean() - jack
    den = 6.0 * np.sum(d * d) ** 1.5
    acc = np.sum(d**3) / den if den > 0 else 0.0
    z = ndtri(q)
    return ndtr(z0 + (z0 + z) / (1 - acc * (z0 + z)))
