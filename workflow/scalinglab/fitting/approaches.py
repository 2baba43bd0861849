"""Approaches 2 and 3 of Hoffmann et al. (2022) on one set of runs, compared quantity by quantity.

Approach 2 (IsoFLOP profiles): per compute budget a parabola of the loss in log N; its vertex is that budget's
compute-optimal size; log N_opt = log k + a log C over the budgets with an interior minimum, D_opt = C / (6 N_opt).
Its intervals resample the runs within each budget (every budget keeps its count), refit every parabola and the
power law; a resample whose parabola opens downward at some budget is dropped (counted in `n_used`).

Approach 3 (a parametric law with a closed-form allocation, e.g. chinchilla): a = beta / (alpha + beta), and N_opt,
D_opt, tokens per parameter at each budget, from the fit and its bootstrap draws (`compute_optimal`).

`compare(result, size, loss, compute)` returns the record the fit JSON keeps under `approaches` (docs/fit-json.md):
both approaches, one table with every quantity's value and interval under each, whether the intervals overlap, and
a verdict. `fit()` computes it for two-input laws (C = 6 x0 x1, or the runs' compute budget) and for one-input laws
fitted to runs with a `compute_budget` column (an IsoFLOP sweep); the report draws it and never refits.
"""

from __future__ import annotations

import numpy as np

from .allocation import MIN_SIZES, isoflop
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
    two = _approach2(iso, size, loss, compute, cs, bootstrap, seed, ci)
    three = _approach3(result, cs)
    rows = _table(two, three, cs)
    return {"ci": ci, "compute": cs, "approach2": two, "approach3": three, "table": rows,
            "verdict": _verdict(rows, two, three)}


def _approach2(iso, size, loss, compute, cs, bootstrap, seed, ci) -> dict:
    out = {"compute": iso["compute"], "size": iso["size"], "loss": iso["loss"],
           "n_runs": int(size.size), "n_budgets": len(iso["budgets"]),
           "budgets": [_drawn(b) for b in iso["budgets"]], "refused": [_drawn(r) for r in iso["refused"]],
           "a": iso["a"], "k": iso["k"], "interval": {}, "at": {}}
    if iso["a"] is None:
        out["skipped"] = (f"{len(iso['budgets'])} compute budget(s) with an interior minimum; the power law needs 2"
                          + "".join(f"; C={r['C']:.3g}: {r['why']}" for r in iso["refused"]))
        return out
    a_draws, logk_draws, n_used = _draws(iso, size, loss, compute, bootstrap, seed)
    out["bootstrap"] = {"n": int(bootstrap), "n_used": n_used}
    out["interval"]["a"] = interval(a_draws, ci)
    for c in cs:
        n_opt = iso["k"] * c ** iso["a"]
        n_draws = np.exp(logk_draws + a_draws * np.log(c))
        values = {"N_opt": (n_opt, n_draws), "D_opt": (c / (6 * n_opt), c / (6 * n_draws)),
                  "tokens_per_param": (c / (6 * n_opt**2), c / (6 * n_draws**2))}
        out["at"][_tag(c)] = {name: {"value": float(v), "interval": interval(d, ci)}
                              for name, (v, d) in values.items()}
    return out


def _draws(iso, size, loss, compute, bootstrap, seed):
    """(a, log k) of `bootstrap` resamples of the runs within each budget, and how many resamples were usable."""
    if not bootstrap:
        return np.empty(0), np.empty(0), 0
    from .prepare import levels

    rng = np.random.default_rng([int(seed), 22])
    level = levels(compute)
    members = [np.flatnonzero(level == b["level"]) for b in iso["budgets"]]
    vertices = np.stack([_resampled_vertices(size[m], loss[m], bootstrap, rng) for m in members], axis=1)
    usable = np.all(np.isfinite(vertices), axis=1)
    log_c = np.log([b["C"] for b in iso["budgets"]])
    centred = log_c - log_c.mean()
    a = (vertices[usable] - vertices[usable].mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
    log_k = vertices[usable].mean(axis=1) - a * log_c.mean()
    return a, log_k, int(usable.sum())


def _resampled_vertices(n, loss, draws, rng) -> np.ndarray:
    """log N at the vertex of the parabola refitted to each of `draws` resamples of one budget's runs (NaN where
    it opens downward or the resample holds fewer than MIN_SIZES sizes), in chunks of CHUNK_VALUES values."""
    u, out = np.log(n), np.empty(draws)
    chunk = max(1, CHUNK_VALUES // max(u.size, 1))
    for lo in range(0, draws, chunk):
        pick = rng.integers(0, u.size, size=(min(chunk, draws - lo), u.size))
        uu, yy = u[pick], loss[pick]
        design = np.stack([np.ones_like(uu), uu, uu * uu], axis=-1)  # (B, n, 3)
        gram = np.einsum("bni,bnj->bij", design, design)
        rhs = np.einsum("bni,bn->bi", design, yy)
        with np.errstate(all="ignore"):
            ok = np.linalg.cond(gram) < 1e12
            coef = np.full(rhs.shape, np.nan)
            coef[ok] = np.linalg.solve(gram[ok], rhs[ok][..., None])[..., 0]
            vertex = np.where(coef[:, 2] > 0, -coef[:, 1] / (2 * coef[:, 2]), np.nan)
        distinct = np.array([np.unique(row).size for row in uu]) if u.size <= 64 else np.full(len(uu), MIN_SIZES)
        out[lo : lo + len(uu)] = np.where(distinct >= MIN_SIZES, vertex, np.nan)
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
