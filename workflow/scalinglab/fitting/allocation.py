"""Compute-optimal allocation: approach 2 (IsoFLOP parabolas, `isoflop`) and approach 3 (a two-input law's closed
form: `compute_optimal` with intervals, `frontier` for curves)."""

from __future__ import annotations

import numpy as np

from . import table as tbl
from .bootstrap import interval, widen
from .errors import FitInputError, NonInteriorMinimumError
from .prepare import levels

MIN_SIZES = 3  # distinct sizes a parabola needs


def isoflop(data, compute="C", size="N", loss="loss", bootstrap=0, seed=0, ci=0.95, strict=True):
    """Approach 2: per compute level (`prepare.levels`: each budget, or quantile bins of a continuum) fit
    loss = p0 + p1 u + p2 u^2 with u = log N; its minimum must be interior
    (p2 > 0 and the vertex inside the sampled sizes). strict: a level without one raises NonInteriorMinimumError
    naming it; else it is listed in `refused` with the reason and left out. Then log N_opt = log k + a log C over the
    levels with an interior minimum (D_opt = C / (6 N_opt)).

    Returns {"compute", "size", "loss", "budgets": [{C, N_opt, D_opt, loss_opt, n_points, coef, sizes, losses}],
    "refused": [{C, why, n_points, sizes, losses, coef?}], "a", "b", "k", "interval": {a, b}}; a, b and k are None
    with fewer than 2 interior minima.
    With bootstrap > 0 the runs within each level are resampled for a percentile interval on a."""
    frame = tbl.as_table(data)
    C, N, L = (tbl.column_values(frame, col, role) for col, role in ((compute, "compute"), (size, "size"),
                                                                       (loss, "loss")))
    for values, col, positive in ((C, compute, True), (N, size, True), (L, loss, False)):
        tbl.check_values(values, col, positive)
    level = levels(C)
    if level.max() < 1:
        raise FitInputError(f"IsoFLOP needs at least 2 distinct compute budgets in {compute!r}, got 1")
    budgets, refused = [], []
    for index in range(level.max() + 1):
        sel = level == index
        c = float(C[sel][0] if np.ptp(C[sel]) == 0 else np.exp(np.mean(np.log(C[sel]))))  # exact for a budget
        row, error = _budget(c, N[sel], L[sel], compute, size)
        if error is None:
            budgets.append({**row, "level": index})
        elif strict:
            raise error
        else:
            refused.append({**row, "why": str(error)})
    out = {"compute": compute, "size": size, "loss": loss, "budgets": budgets, "refused": refused,
           "a": None, "b": None, "k": None, "interval": {}}
    if len(budgets) >= 2:
        a, logk = np.polyfit(np.log([b["C"] for b in budgets]), np.log([b["N_opt"] for b in budgets]), 1)
        out.update(a=float(a), b=float(1 - a), k=float(np.exp(logk)))
    if bootstrap and len(budgets) >= 2:
        out.update(_bootstrap_slope(budgets, C, N, L, level, compute, size, bootstrap, seed, ci))
    return out


def _budget(c, N, L, compute, size):
    """(row, None) for a level with an interior minimum, else (what is known of it, the error saying why not)."""
    u = np.log(N)
    row = {"C": c, "n_points": int(N.size), "sizes": N.tolist(), "losses": L.tolist()}
    if np.unique(u).size < MIN_SIZES:
        return row, FitInputError(f"compute budget {compute}={c:g} has {np.unique(u).size} distinct sizes; a "
                                  f"parabola needs at least {MIN_SIZES}")
    row["coef"] = [float(v) for v in np.polyfit(u, L, 2)]
    try:
        uv, lv = _vertex(c, row["coef"], u, compute, size)
    except NonInteriorMinimumError as error:
        return row, error
    return {**row, "N_opt": float(np.exp(uv)), "D_opt": float(c / (6 * np.exp(uv))), "loss_opt": float(lv)}, None


def _vertex(c, coef, u, compute, size):
    p2, p1, p0 = coef
    if not p2 > 0:
        raise NonInteriorMinimumError(
            c, f"compute budget {compute}={c:g}: the parabola in log {size} opens downward (curvature {p2:.3g}); "
            "no minimum")
    uv = -p1 / (2 * p2)
    if not u.min() < uv < u.max():
        where = "below the smallest" if uv <= u.min() else "above the largest"
        raise NonInteriorMinimumError(
            c, f"compute budget {compute}={c:g}: the minimum (at {size}={np.exp(uv):.4g}) is {where} sampled size "
            f"[{np.exp(u.min()):.4g}, {np.exp(u.max()):.4g}]; sample sizes on both sides of the optimum")
    return uv, p0 + p1 * uv + p2 * uv * uv


def _bootstrap_slope(budgets, C, N, L, level, compute, size, bootstrap, seed, ci) -> dict:
    rng = np.random.default_rng(seed)
    used = [np.flatnonzero(level == b["level"]) for b in budgets]
    lc = np.log([b["C"] for b in budgets])
    slopes = []
    for _ in range(int(bootstrap)):
        try:
            vs = []
            for idx in used:
                pick = rng.choice(idx, idx.size, replace=True)
                u = np.log(N[pick])
                if np.unique(u).size < MIN_SIZES:
                    raise FitInputError("too few sizes in a resample")
                vs.append(_vertex(0.0, np.polyfit(u, L[pick], 2), u, compute, size)[0])
        except (NonInteriorMinimumError, FitInputError, np.linalg.LinAlgError):
            continue
        slopes.append(np.polyfit(lc, vs, 1)[0])
    lo, hi = interval(slopes, ci)
    out = {"bootstrap": {"n": int(bootstrap), "n_used": len(slopes)}, "interval": {}}
    if lo is not None:
        out["interval"] = {"a": [lo, hi], "b": [1 - hi, 1 - lo]}
    return out


def frontier_point(law, params: dict, C) -> dict | None:
    """The compute-optimal N, D and loss of one parameter set at compute C (array); None if the law has no
    closed-form allocation."""
    if law.compute_optimal is None:
        return None
    C = np.asarray(C, dtype=float)
    reported = {n: np.asarray(params[n], dtype=float) for n in law.natural}
    with np.errstate(all="ignore"):
        N = law.compute_optimal(reported, C)
        D = C / (6.0 * N)
        theta = law.from_natural(np.array([[float(params[n]) for n in law.natural]]))
        return {"C": C, "N": N, "D": D, "loss": law.predict(theta, np.stack([N, D]))[0]}


def frontier(fit_result, C, ci=None, band=True) -> dict | None:
    """Approach 3 along compute: the fit's compute-optimal N, D and loss at each C, and (band) the percentile band
    of the optimal loss over the bootstrap draws. None for a law without a closed-form allocation."""
    from .bootstrap import MIN_DRAWS
    from .fit import predict_paired

    law = fit_result.law
    out = frontier_point(law, fit_result.params, C)
    if out is None or not band:
        return out
    boot = fit_result.boot_natural
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    if len(boot) < MIN_DRAWS:
        return out
    ci = fit_result.ci if ci is None else float(ci)
    reported = {n: boot[:, i : i + 1] for i, n in enumerate(law.natural)}
    with np.errstate(all="ignore"):
        N = law.compute_optimal(reported, out["C"][None, :])  # (B, len(C))
        D = out["C"][None, :] / (6.0 * N)
        theta = np.repeat(law.from_natural(boot), out["C"].size, axis=0)
        loss = predict_paired(law, theta, np.stack([N.ravel(), D.ravel()])).reshape(N.shape)
        loss = np.exp(widen(np.log(loss), np.log(out["loss"])[None, :], ci, fit_result.bootstrap.get("dof")))
        loss = np.where(np.isfinite(loss), loss, np.nan)
        out["low"], out["high"] = np.nanquantile(loss, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0)
    return out


def compute_optimal(fit_result, compute, ci=None):
    """Approach 3: N_opt(C), D_opt(C), tokens per parameter and the loss there, from a two-input law with a
    closed-form allocation (chinchilla, kaplan), with bootstrap intervals.

    compute: a number or list. Returns {C: {name: {"value", "interval"}}}."""
    from .fit import derived_quantities
    from .persist import load_fit
    from .result import FitResult

    if not isinstance(fit_result, FitResult):
        fit_result = load_fit(fit_result)
    law = fit_result.law
    if law.compute_optimal is None:
        raise FitInputError(f"law {law.name!r} has no compute-optimal allocation; fit a two-input law such as "
                            "chinchilla")
    ci = fit_result.ci if ci is None else float(ci)
    cs = [float(c) for c in np.atleast_1d(compute)]
    settings = {"compute": cs}
    nat = np.array([[fit_result.params[n] for n in law.natural]])
    point = derived_quantities(law, nat, settings, fit_result.x, law.from_natural(nat))
    boot = fit_result.boot_natural
    draws = derived_quantities(law, boot, settings, fit_result.x, law.from_natural(boot))
    out = {}
    for c in cs:
        tag = f"@C={c:g}"
        dof = fit_result.bootstrap.get("dof")
        out[c] = {key[: -len(tag)]: {"value": float(point[key][0]),
                                     "interval": interval(draws.get(key, []), ci, float(point[key][0]), None, dof)}
                  for key in point if key.endswith(tag)}
    return out
