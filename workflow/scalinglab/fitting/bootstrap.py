"""Bootstrap intervals: resampling weights (rows, or whole groups of rows), the batched refits warm-started from
the point fit's optima, the jackknife for BCa, and the percentile / BCa interval of a set of draws."""

from __future__ import annotations

import numpy as np

from .multistart import RACE, PointFit, run_starts
from .optimize import CONVERGED, Objective, newton_batch

INTERVAL_METHODS = ("percentile", "bca")
MIN_DRAWS = 10  # fewer finite bootstrap draws than this give no interval (a band from 3 draws is not a band)
BASIN_CHECKS = 8  # resamples refitted from a wide set of starts, as a check on the warm-started refits
BASIN_STARTS = 64  # of the law's starting points, drawn at random, for that check (all if fewer)


def resample_weights(n, groups, B, rng):
    """(B, n) integer weights: how often each row is drawn. groups None: rows are resampled; else the distinct
    group labels are, every row of a drawn group with it. Returns (weights, number of units)."""
    if groups is None:
        idx = rng.integers(0, n, size=(B, n))
        W = np.zeros((B, n))
        np.add.at(W, (np.repeat(np.arange(B), n), idx.ravel()), 1.0)
        return W, n
    labels, inverse = np.unique(groups, return_inverse=True)
    G = labels.size
    picks = rng.integers(0, G, size=(B, G))
    counts = np.zeros((B, G))
    np.add.at(counts, (np.repeat(np.arange(B), G), picks.ravel()), 1.0)
    return counts[:, inverse], G


def jackknife_weights(n, groups):
    """Leave-one-unit-out weight vectors: one row per row of the data, or per group."""
    if groups is None:
        return 1.0 - np.eye(n)
    labels, inverse = np.unique(groups, return_inverse=True)
    return (inverse[None, :] != np.arange(labels.size)[:, None]).astype(float)


def refit(law, Xs, logy, delta, point: PointFit, W, settings, starts=None):
    """Refit every weight vector (row of W) from each of `starts` (default: the point fit's distinct optima); keep
    the best per row. Returns ((B, P) fitted parameters in scaled coordinates, NaN rows where no start gave a finite
    objective, (B,) objectives, {n_failed, n_not_converged})."""
    B = W.shape[0]
    starts = point.local_optima if starts is None else starts
    k = starts.shape[0]
    x0 = np.repeat(starts[None, :, :], B, axis=0).reshape(B * k, -1)
    objective = Objective(law, Xs, logy, delta, np.repeat(W, k, axis=0))
    res, _ = run_starts(law, objective, x0, settings, race=False)
    f = res.f.reshape(B, k)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    rows = np.arange(B)
    theta = res.x.reshape(B, k, -1)[rows, best]
    f = f[rows, best]
    ok = np.isfinite(f)
    status = res.status.reshape(B, k)[rows, best]
    theta[~ok] = np.nan
    return theta, f, {"n_failed": int((~ok).sum()), "n_not_converged": int((~np.isin(status, CONVERGED) & ok).sum())}


def refit_checked(law, Xs, logy, delta, point: PointFit, W, settings, rng):
    """`refit`, plus a cheap check that warm starts did not trap resamples in the wrong basin: BASIN_CHECKS
    resamples, drawn at random, are refitted from a wide set of starts (the point fit's distinct end points and
    BASIN_STARTS of the law's own starting points, drawn at random), every start run to the end. If one of them finds
    a lower objective than its warm-started refit, every resample is refitted again with those optima added to the
    warm starts, and the check says so."""
    theta, f, info = refit(law, Xs, logy, delta, point, W, settings)
    sample = rng.choice(W.shape[0], min(BASIN_CHECKS, W.shape[0]), replace=False)
    grid = np.asarray(law.starts(Xs, logy), dtype=float)
    if grid.shape[0] > BASIN_STARTS:
        grid = grid[np.sort(rng.choice(grid.shape[0], BASIN_STARTS, replace=False))]
    wide = np.vstack([point.candidates, grid])
    k = wide.shape[0]
    objective = Objective(law, Xs, logy, delta, np.repeat(W[sample], k, axis=0))
    x0 = np.tile(wide, (sample.size, 1))
    # racing's curvature schedule, nothing pruned: the resamples' objectives are not comparable
    res = newton_batch(objective, x0, race=RACE, keep=1.0, bounds=law.box)
    fw = np.where(np.isfinite(res.f), res.f, np.inf).reshape(sample.size, k)
    best = np.argmin(fw, axis=1)
    found = [(res.x.reshape(sample.size, k, -1)[j, best[j]], (f[b] - fw[j, best[j]]) / f[b])
             for j, b in enumerate(sample) if fw[j, best[j]] < f[b] * (1 - 1e-6)]
    check = {"n_checked": int(sample.size), "n_better": len(found),
             "max_relative_improvement": float(max((g for _, g in found), default=0.0)), "refitted": False}
    if found:
        starts = np.vstack([point.local_optima] + [t[None, :] for t, _ in found])
        theta, f, info = refit(law, Xs, logy, delta, point, W, settings, starts=starts)
        check["refitted"] = True
    return theta, {**info, "basin_check": check}


def interval(samples, ci, point=None, jack=None):
    """Percentile interval of bootstrap draws; BCa (Efron 1987) when the point estimate and the jackknife
    (leave-one-unit-out) values are given: bias correction z0 from the share of draws below the point estimate,
    acceleration from the jackknife skewness. [None, None] with fewer than MIN_DRAWS finite draws."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size < MIN_DRAWS:
        return [None, None]
    q = np.array([0.5 * (1 - ci), 1 - 0.5 * (1 - ci)])
    if point is not None and jack is not None and np.isfinite(point):
        q = _bca_levels(samples, q, point, jack)
    lo, hi = np.percentile(samples, 100 * q)
    return [float(lo), float(hi)]


def _bca_levels(samples, q, point, jack):
    from scipy.stats import norm

    jack = np.asarray(jack, dtype=float)
    jack = jack[np.isfinite(jack)]
    below = (np.sum(samples < point) + 0.5 * np.sum(samples == point)) / samples.size
    if jack.size < 3 or not 0 < below < 1:
        return q
    z0 = norm.ppf(below)
    d = jack.mean() - jack
    den = 6.0 * np.sum(d * d) ** 1.5
    acc = np.sum(d**3) / den if den > 0 else 0.0
    z = norm.ppf(q)
    return norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
