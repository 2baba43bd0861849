"""Compute-optimal allocation: approach 2 (IsoFLOP parabolas) and approach 3 (closed form from a Chinchilla fit)."""

from __future__ import annotations

import numpy as np

from .errors import FitInputError, NonInteriorMinimumError


def isoflop(data, compute="C", size="N", loss="loss", min_points=3, bootstrap=0, seed=0, ci=0.95):
    """Approach 2: for each compute budget fit loss = p0 + p1 u + p2 u^2 with u = log N; the minimum must be
    interior (p2 > 0 and the vertex inside the sampled sizes), else NonInteriorMinimumError names the budget.
    Then fit log N_opt = log k + a log C (and D_opt = C / (6 N_opt)).

    Returns {"budgets": [{C, N_opt, loss_opt, n_points}], "a": slope, "k": ..., "b": 1 - a, "interval": {...}}.
    With bootstrap > 0, the points within each budget are resampled to give a percentile interval for a."""
    from . import table as tbl

    frame = tbl.as_frame(data)
    C = tbl.column_values(frame, compute, "compute")
    N = tbl.column_values(frame, size, "size")
    L = tbl.column_values(frame, loss, "loss")
    tbl.check_values(C, compute, True)
    tbl.check_values(N, size, True)
    tbl.check_values(L, loss, False)
    budgets = np.unique(C)
    if budgets.size < 2:
        raise FitInputError(f"IsoFLOP needs at least 2 distinct compute budgets in {compute!r}, got {budgets.size}")

    def vertex(c, u, losses):
        if np.unique(u).size < max(3, min_points):
            raise FitInputError(
                f"compute budget {compute}={c:g} has {np.unique(u).size} distinct sizes; a parabola needs at least "
                f"{max(3, min_points)}"
            )
        p2, p1, p0 = np.polyfit(u, losses, 2)
        if not p2 > 0:
            raise NonInteriorMinimumError(
                c,
                f"compute budget {compute}={c:g}: the parabola in log {size} opens downward "
                f"(curvature {p2:.3g}); no minimum",
            )
        uv = -p1 / (2 * p2)
        if not (u.min() < uv < u.max()):
            where = "below the smallest" if uv <= u.min() else "above the largest"
            raise NonInteriorMinimumError(
                c,
                f"compute budget {compute}={c:g}: the minimum (at {size}={np.exp(uv):.4g}) is {where} sampled size "
                f"[{np.exp(u.min()):.4g}, {np.exp(u.max()):.4g}]; sample sizes on both sides of the optimum",
            )
        return uv, p0 + p1 * uv + p2 * uv * uv

    rows = []
    for c in budgets:
        sel = c == C
        uv, lv = vertex(c, np.log(N[sel]), L[sel])
        rows.append({"C": float(c), "N_opt": float(np.exp(uv)), "D_opt": float(c / (6 * np.exp(uv))),
                     "loss_opt": float(lv), "n_points": int(sel.sum())})
    lc = np.log([r["C"] for r in rows])
    ln = np.log([r["N_opt"] for r in rows])
    a, logk = np.polyfit(lc, ln, 1)
    out = {"budgets": rows, "a": float(a), "b": float(1 - a), "k": float(np.exp(logk)), "interval": {}}
    if bootstrap:
        rng = np.random.default_rng(seed)
        slopes = []
        for _ in range(int(bootstrap)):
            vs = []
            try:
                for c in budgets:
                    idx = np.flatnonzero(c == C)
                    pick = rng.choice(idx, idx.size, replace=True)
                    vs.append(vertex(c, np.log(N[pick]), L[pick])[0])
            except (NonInteriorMinimumError, FitInputError, np.linalg.LinAlgError):
                continue
            slopes.append(np.polyfit(lc, vs, 1)[0])
        q = [50 * (1 - ci), 100 - 50 * (1 - ci)]
        if len(slopes) >= 2:
            lo, hi = np.percentile(slopes, q)
            out["interval"] = {"a": [float(lo), float(hi)], "b": [float(1 - hi), float(1 - lo)]}
        out["bootstrap"] = {"n": int(bootstrap), "n_used": len(slopes)}
    return out


def compute_optimal(fit_result, compute, ci=None):
    """Approach 3: N_opt(C), D_opt(C) and tokens per parameter from a chinchilla fit, with bootstrap intervals.

    compute: a number or list. Returns {C: {name: {"value", "interval"}}}."""
    from .core import FitResult, _interval, load_fit

    if not isinstance(fit_result, FitResult):
        fit_result = load_fit(fit_result)
    law = fit_result.law
    if law.name != "chinchilla" or law.derived is None:
        raise FitInputError(f"compute-optimal allocation needs a chinchilla fit, not {law.name!r}")
    ci = fit_result.ci if ci is None else float(ci)
    cs = [float(c) for c in np.atleast_1d(compute)]
    nat = np.array([[fit_result.params[n] for n in law.natural]])
    point = law.derived({n: nat[:, i] for i, n in enumerate(law.natural)}, {"compute": cs})
    boot = fit_result.boot_natural
    bd = law.derived({n: boot[:, i] for i, n in enumerate(law.natural)}, {"compute": cs}) if boot.size else {}
    out = {}
    for c in cs:
        tag = f"{c:g}"
        out[c] = {
            key.split("@")[0]: {"value": float(point[key][0]), "interval": _interval(bd.get(key, []), ci)}
            for key in point
            if key.endswith(f"@C={tag}")
        }
    return out
