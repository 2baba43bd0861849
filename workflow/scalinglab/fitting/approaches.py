"""Approaches 2 and 3 of Hoffmann et al. (2022) on one set of runs, compared quantity by quantity.

Approach 2 (IsoFLOP profiles): per compute budget a parabola of the loss in log N; its vertex is that budget's
compute-optimal size; log N_opt = log k + a log C over the budgets with an interior minimum, D_opt = C / (6 N_opt).
Its intervals keep the design (each budget's sizes) and redraw every run's loss about its parabola with the pooled
log residual noise (`_draws`), refitting every parabola and the power law; a draw whose parabola opens downward at
some budget is dropped (counted in `n_used`).

Approach 3 (a parametric law with a closed-form allocation, e.g. chinchilla): a = beta / (alpha + beta), and N_opt,
D_opt, tokens per parameter at each budget, from the fit and its bootstrap draws (`compute_optimal`).

`compare(result, size, loss, compute)` returns the record the fit JSON keeps under `approaches` (docs/fit-json.md):
both approaches, one table with every quantity's value and interval under each, whether the intervals overlap, and
a verdict. `fit()` computes it for two-input laws (C = 6 x0 x1, or the runs' compute budget) and for one-input laws
fitted to runs with a `compute_budget` column (an IsoFLOP sweep); the report draws it and never refits.
"""

from __future__ import annotations

import numpy as np

from .allocation import isoflop
from .bootstrap import interval
from .errors import FitInputError

MAX_DRAWN_POINTS = 60  # per budget, the (size, mean loss) points kept for the figure: more sizes are binned
CHUNK_VALUES = 2_000_000  # resampled values held at once (memory stays flat at any row count)
QUANTITIES = ("N_opt", "D_opt", "tokens_per_param")
MEANING = {
    "a": "exponent of N_opt ∝ C^a (approach 3: beta/(alpha+beta))",
    "N_opt": "compute-optimal parameters at C",
    "D_opt": "compute-optimal data at C (C = 6ND)",
    "tokens_per_param": "compute-optimal D / N at C",
}


def compare(result, size: np.ndarray, loss: np.ndarray, compute: np.ndarray, compute_name: str = "C",
            budgets=None, bootstrap: int = 0, seed: int = 0) -> dict:
    """Both approaches on the fitted runs (`size`, `loss`, `compute` per run: the fit's first x, its y and each run's
    compute, named `compute_name`) and their comparison at each compute budget of the runs (plus `budgets`)."""
    ci = result.ci
    try:
        iso = isoflop({"C": compute, "N": size, "L": loss}, compute="C", size="N", loss="L", strict=False)
    except FitInputError as error:
        return {"approach2": {"skipped": str(error)}, "verdict": {"agree": None, "text": str(error)}}
    iso.update(compute=compute_name, size=result.x[0], loss=result.y)
    cs = sorted({float(b["C"]) for b in iso["budgets"] + iso["refused"]} | {float(c) for c in budgets or []})
    two = _approach2(iso, size, loss, compute, cs, bootstrap, seed, ci,
                     (result.observation_noise or {}).get("sigma"))
    three = _approach3(result, cs)
    rows = _table(two, three, cs)
    return {"ci": ci, "compute": cs, "approach2": two, "approach3": three, "table": rows,
            "verdict": _verdict(rows, two, three)}


def _approach2(iso, size, loss, compute, cs, bootstrap, seed, ci, fallback_sigma=None) -> dict:
    out = {"compute": iso["compute"], "size": iso["size"], "loss": iso["loss"],
           "n_runs": int(size.size), "n_budgets": len(iso["budgets"]),
           "budgets": [_drawn(b) for b in iso["budgets"]], "refused": [_drawn(r) for r in iso["refused"]],
           "a": iso["a"], "k": iso["k"], "interval": {}, "at": {}}
    if iso["a"] is None:
        out["skipped"] = (f"{len(iso['budgets'])} compute budget(s) with an interior minimum; the power law needs 2"
                          + "".join(f"; C={r['C']:.3g}: {r['why']}" for r in iso["refused"]))
        return out
    a_draws, logk_draws, out["bootstrap"] = _draws(iso, size, loss, compute, bootstrap, seed, fallback_sigma)
    out["interval"]["a"] = interval(a_draws, ci)
    for c in cs:
        n_opt = iso["k"] * c ** iso["a"]
        n_draws = np.exp(logk_draws + a_draws * np.log(c))
        values = {"N_opt": (n_opt, n_draws), "D_opt": (c / (6 * n_opt), c / (6 * n_draws)),
                  "tokens_per_param": (c / (6 * n_opt**2), c / (6 * n_draws**2))}
        out["at"][_tag(c)] = {name: {"value": float(v), "interval": interval(d, ci)}
                              for name, (v, d) in values.items()}
    return out


def _draws(iso, size, loss, compute, bootstrap, seed, fallback_sigma=None):
    """(a, log k) of `bootstrap` draws, how many were usable, and how they were drawn. The design is kept (the
    sizes trained at each budget are the researcher's choice, and an IsoFLOP budget often holds 3 or 4 of them: a
    resample of its runs would mostly lack the 3 distinct sizes a parabola needs): every run's loss is redrawn as its
    parabola's value times exp(sigma z), sigma the pooled log residual of the parabolas (or, with fewer than 3 degrees
    of freedom left, the parametric fit's observation noise), and every parabola and the power law are refitted."""
    from .prepare import levels

    info = {"n": int(bootstrap), "n_used": 0, "method": None, "sigma": None}
    if not bootstrap:
        return np.empty(0), np.empty(0), info
    level = levels(compute)
    members = [np.flatnonzero(level == b["level"]) for b in iso["budgets"]]
    fitted = [np.polyval(b["coef"], np.log(size[m])) for b, m in zip(iso["budgets"], members)]
    resid = np.concatenate([np.log(loss[m] / f) for m, f in zip(members, fitted)])
    dof = sum(m.size - 3 for m in members)
    if dof >= 3 and np.all(np.isfinite(resid)):
        sigma, info["method"] = float(np.sqrt(np.sum(resid**2) / dof)), (
            f"residual bootstrap, design kept: sigma from the parabolas' pooled log residuals ({dof} dof)")
    elif fallback_sigma:
        sigma, info["method"] = float(fallback_sigma), (
            f"residual bootstrap, design kept: sigma from the parametric fit's observation noise (the parabolas "
            f"leave {dof} dof)")
    else:
        info["method"] = f"none: the parabolas leave {dof} dof and there is no observation noise to borrow"
        return np.empty(0), np.empty(0), info
    info["sigma"] = sigma
    rng = np.random.default_rng([int(seed), 22])
    vertices = np.stack([_vertices(size[m], f, sigma, bootstrap, rng) for m, f in zip(members, fitted)], axis=1)
    usable = np.all(np.isfinite(vertices), axis=1)
    log_c = np.log([b["C"] for b in iso["budgets"]])
    centred = log_c - log_c.mean()
    a = (vertices[usable] - vertices[usable].mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
    log_k = vertices[usable].mean(axis=1) - a * log_c.mean()
    info["n_used"] = int(usable.sum())
    return a, log_k, info


def _vertices(n, fitted, sigma, draws, rng) -> np.ndarray:
    """log N at the vertex of the parabola refitted to `draws` redraws of one budget's losses (fitted x exp(sigma z))
    on its fixed sizes, NaN where it opens downward: one least-squares solve for all, in chunks of CHUNK_VALUES."""
    u, out = np.log(n), np.empty(draws)
    design = np.stack([u * u, u, np.ones_like(u)], axis=1)  # np.polyfit's order
    solve = np.linalg.pinv(design)  # (3, n): the fixed design's least-squares map
    chunk = max(1, CHUNK_VALUES // max(u.size, 1))
    for lo in range(0, draws, chunk):
        count = min(chunk, draws - lo)
        y = fitted[None, :] * np.exp(sigma * rng.standard_normal((count, u.size)))
        coef = y @ solve.T  # (count, 3)
        with np.errstate(all="ignore"):
            out[lo : lo + count] = np.where(coef[:, 0] > 0, -coef[:, 1] / (2 * coef[:, 0]), np.nan)
    return out


def _approach3(result, cs) -> dict:
    from .allocation import compute_optimal

    law = result.law
    if law.compute_optimal is None or len(law.inputs) != 2:
        return {"skipped": f"law {law.name!r} has no closed-form compute-optimal allocation"}
    a = result.derived.get("a_opt")
    out = {"law": law.name, "n_runs": int(result.n_points), "n_bootstrap": int(result.bootstrap.get("n") or 0),
           "a": None if a is None else a["value"], "interval": {"a": None if a is None else a["interval"]}}
    if a is None:  # a law whose allocation exponent has no closed form: the slope of log N_opt against log C
        ends = compute_optimal(result, [min(cs), max(cs)])
        n0, n1 = (ends[c]["N_opt"]["value"] for c in (min(cs), max(cs)))
        out["a"] = float(np.log(n1 / n0) / np.log(max(cs) / min(cs))) if max(cs) > min(cs) else None
        out["interval"]["a"] = [None, None]
    at = compute_optimal(result, cs)
    out["at"] = {_tag(c): {name: at[c][name] for name in QUANTITIES} for c in cs}
    return out


def _table(two, three, cs) -> list[dict]:
    """One row per quantity (a, then N_opt, D_opt, tokens per parameter at each budget): value and interval under
    each approach and whether the intervals overlap (None without both intervals)."""
    if two.get("a") is None or three.get("a") is None:
        return []
    rows = [_row("a", None, (two["a"], two["interval"].get("a")), (three["a"], three["interval"].get("a")))]
    for c in cs:
        for name in QUANTITIES:
            p2, p3 = two["at"][_tag(c)][name], three["at"][_tag(c)][name]
            rows.append(_row(name, c, (p2["value"], p2["interval"]), (p3["value"], p3["interval"])))
    return rows


def _row(name, c, two, three) -> dict:
    (v2, i2), (v3, i3) = two, three
    known = i2 and i3 and None not in i2 and None not in i3
    return {"quantity": name, "C": c, "meaning": MEANING[name], "approach2": {"value": v2, "interval": i2},
            "approach3": {"value": v3, "interval": i3},
            "agree": bool(i2[0] <= i3[1] and i3[0] <= i2[1]) if known else None}


def _verdict(rows, two, three) -> dict:
    """{agree: True|False|None, text}: do approach 2 and approach 3 agree within their intervals on every
    quantity?"""
    if not rows:
        why = two.get("skipped") or three.get("skipped") or "nothing to compare"
        return {"agree": None, "text": f"approaches 2 and 3 not compared: {why}"}
    if any(r["agree"] is None for r in rows):
        return {"agree": None, "text": "approaches 2 and 3 not compared within intervals: a quantity has no interval "
                "(bootstrap off, or too few usable resamples)"}
    apart = [r for r in rows if not r["agree"]]
    if not apart:
        return {"agree": True, "text": f"approaches 2 and 3 agree within their intervals on all {len(rows)} "
                "quantities (a, and N_opt, D_opt, tokens per parameter at every budget)"}
    named = ", ".join(r["quantity"] + ("" if r["C"] is None else f" at C={r['C']:.3g}") for r in apart)
    return {"agree": False, "text": f"approaches 2 and 3 DISAGREE beyond their intervals on {len(apart)} of "
            f"{len(rows)} quantities: {named}. The law may not describe these runs' optimum (a misspecified law, "
            "untuned hyperparameters, budgets without a clear minimum) or the budgets are too few for approach 2"}


def _drawn(budget: dict) -> dict:
    """A budget as the report draws it: the parabola and at most MAX_DRAWN_POINTS (size, mean loss) points, never
    one point per run (a million-run table stays a small JSON)."""
    out = {k: v for k, v in budget.items() if k not in ("sizes", "losses")}
    sizes, losses = np.asarray(budget["sizes"], dtype=float), np.asarray(budget["losses"], dtype=float)
    key = np.log(sizes)
    distinct = np.unique(key)
    if distinct.size > MAX_DRAWN_POINTS:
        edges = np.linspace(key.min(), key.max(), MAX_DRAWN_POINTS + 1)[1:-1]
        key = np.searchsorted(edges, key)
    groups, index = np.unique(key, return_inverse=True)
    count = np.bincount(index)
    out["sizes"] = np.exp(np.bincount(index, np.log(sizes)) / count).tolist()
    out["losses"] = (np.bincount(index, losses) / count).tolist()
    out["counts"] = count.tolist()
    return out


def _tag(c: float) -> str:
    return f"{c:g}"
