"""Planning the next runs: which additions to a study narrow a target's prediction most per FLOP spent.

The current fit's bootstrap draws are an ensemble of laws. Their log predictions at the target and at every
candidate observation are jointly (approximately) Gaussian, with the ensemble's covariance S. Training a candidate
observes its points with the fit's observation noise sigma (log scale); the linear-Gaussian (ensemble Kalman) update

    S <- S - S[:, c] (S[c, c] + sigma^2 I)^-1 S[c, :]

gives the target's variance after it, without refitting. A candidate's value is the expected narrowing of the
target's confidence interval (the mean run's: the part more runs can shrink) per FLOP. `plan` ranks every candidate
alone, then picks greedily within the FLOP budget, updating S after each pick, so that a second candidate is valued
for what the first left uncertain.

A candidate is what a study can add (`scalinglab plan` builds them from the study's sweep: a new size at every
budget, a new budget at every size, one more seed of every cell): {label, X (k, m) its m observation points in the
fit's x columns, flops, yaml (the keys to add)}.
"""

from __future__ import annotations

import math

import numpy as np

from .bootstrap import MIN_DRAWS
from .errors import FitInputError


def ensemble(fit_result, points: np.ndarray) -> np.ndarray:
    """(B, m) log predictions of the fit's bootstrap draws at `points` (k, m), draws with a non-finite one dropped."""
    boot = fit_result.boot_natural
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    if len(boot) < MIN_DRAWS:
        raise FitInputError(f"planning needs the fit's bootstrap draws; this fit has {len(boot)} (fit with "
                            f"--bootstrap 200 or more)")
    law = fit_result.law
    with np.errstate(all="ignore"):
        logs = law.log_predict(law.from_natural(boot), points)
    return logs[np.all(np.isfinite(logs), axis=1)]


def plan(fit_result, target_x: dict, candidates: list[dict], flops: float, top: int | None = None) -> dict:
    """{target, noise, ranking (every candidate alone, best narrowing per FLOP first), chosen (greedy within `flops`,
    each with the target's interval after it), spent, sd_before, sd_after}. Standard deviations are of the log
    prediction: 0.01 is about 1% of the loss; the confidence interval is about +-2 of them."""
    law = fit_result.law
    x_cols = fit_result.x
    target = np.array([[float(target_x[c])] for c in x_cols])
    blocks = [np.asarray(c["X"], dtype=float).reshape(len(x_cols), -1) for c in candidates]
    sizes = [b.shape[1] for b in blocks]
    points = np.concatenate([target, *blocks], axis=1) if blocks else target
    logs = ensemble(fit_result, points)
    S = np.cov(logs, rowvar=False).reshape(points.shape[1], points.shape[1])
    sigma = float((fit_result.observation_noise or {}).get("sigma") or 0.0)
    noise = max(sigma, 1e-6) ** 2
    starts = np.cumsum([1, *sizes])
    index = [np.arange(starts[i], starts[i] + sizes[i]) for i in range(len(candidates))]
    sd0 = math.sqrt(max(S[0, 0], 0.0))

    def after(S, c):
        idx = index[c]
        gain = S[np.ix_([0], idx)] @ np.linalg.solve(S[np.ix_(idx, idx)] + noise * np.eye(idx.size),
                                                    S[np.ix_(idx, [0])])
        return math.sqrt(max(S[0, 0] - float(gain[0, 0]), 0.0))

    ranking = []
    for c, cand in enumerate(candidates):
        sd = after(S, c)
        ranking.append({"label": cand["label"], "flops": float(cand["flops"]), "n_points": sizes[c],
                        "sd_after": sd, "narrowing": sd0 - sd,
                        "narrowing_per_pflop": (sd0 - sd) / (float(cand["flops"]) / 1e15),
                        "yaml": cand.get("yaml") or {}})
    ranking.sort(key=lambda r: -r["narrowing_per_pflop"])
    chosen, spent, current = [], 0.0, S.copy()
    available = set(range(len(candidates)))
    while True:
        sd_now = math.sqrt(max(current[0, 0], 0.0))
        best, best_value = None, 0.0
        for c in available:
            cost = float(candidates[c]["flops"])
            if spent + cost > flops:
                continue
            value = (sd_now - after(current, c)) / cost
            if value > best_value:
                best, best_value = c, value
        if best is None:
            break
        idx = index[best]
        K = current[:, idx] @ np.linalg.inv(current[np.ix_(idx, idx)] + noise * np.eye(idx.size))
        current = current - K @ current[idx, :]
        spent += float(candidates[best]["flops"])
        available.discard(best)
        chosen.append({"label": candidates[best]["label"], "flops": float(candidates[best]["flops"]),
                       "sd_after": math.sqrt(max(current[0, 0], 0.0)), "yaml": candidates[best].get("yaml") or {}})
    value = law.predict(fit_result.theta[None, :], target)[0, 0]
    return {"target": {c: float(target_x[c]) for c in x_cols}, "value": float(value), "noise_sigma": sigma,
            "n_draws": len(logs), "sd_before": sd0, "sd_after": math.sqrt(max(current[0, 0], 0.0)),
            "flops": float(flops), "spent": spent, "ranking": ranking[:top] if top else ranking, "chosen": chosen}


def yaml_snippet(sweep: str, result: dict, ci: float = 0.95) -> str:
    """The chosen additions as YAML for the study's sweep, with what they are expected to do as comments."""
    z = _z(ci)
    before, after = (100 * z * result[k] for k in ("sd_before", "sd_after"))
    lines = [f"# scalinglab plan: {len(result['chosen'])} addition(s) to sweep {sweep!r}, {result['spent']:.3g} of "
             f"{result['flops']:.3g} FLOPs;",
             f"# the target's {ci:.0%} confidence interval is expected to narrow from about +-{before:.2g}% to "
             f"+-{after:.2g}% (ensemble of {result['n_draws']} bootstrap draws, observation noise "
             f"{100 * result['noise_sigma']:.2g}%)"]
    if not result["chosen"]:
        return "\n".join([*lines, "# nothing fits within the budget: every candidate costs more"]) + "\n"
    merged: dict = {}
    for pick in result["chosen"]:
        for key, values in pick["yaml"].items():
            merged.setdefault(key, []).extend(v for v in values if v not in merged.get(key, []))
    lines += ["sweeps:", f"  - name: {sweep}   # add to this sweep's lists"]
    for key, values in merged.items():
        lines.append(f"    {key}:")
        lines += [f"      - {_flow(v)}" for v in values]
    return "\n".join(lines) + "\n"


def _z(ci: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + ci / 2)


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):  # `1e+12` would read back as text: the snippet must paste into the study
        from ..config.validate import yaml_float

        return yaml_float(value)
    return str(value)


# ---- the candidates a study can add -----------------------------------------------------------------------------
def study_target(config: dict, name: str) -> tuple[dict, dict, str]:
    """(the target's config entry, its sweep, the law that predicts it) of a trained sweep's target."""
    from ..config import ConfigError
    from ..config.targets import target_law
    from ..config.validate import did_you_mean

    targets = {t["name"]: t for t in config.get("targets") or []}
    if name not in targets:
        raise ConfigError(f"--target: no target {name!r}{did_you_mean(name, list(targets))}; the study's targets: "
                          f"{', '.join(targets) or 'none (add a `targets:` list)'}")
    target = targets[name]
    sweep = next((s for s in config.get("sweeps") or [] if s["name"] == target["sweep"]), None)
    if sweep is None:
        raise ConfigError(f"--target {name!r} is a row of external data {target['sweep']!r}: there are no runs to "
                          "plan; plan the target of a trained sweep")
    return target, sweep, target_law(config, target)


def study_candidates(config: dict, target: dict, sweep: dict, x_cols: list[str]) -> tuple[dict, list[dict]]:
    """(the target's x, the candidates): one more seed of every cell; a new compute budget (or data budget) one step
    beyond the largest and one between the two largest, at every size; new sizes between the largest ladder size
    and the target's (numeric architecture keys interpolated geometrically), at every budget. Each candidate's
    points are its distinct cells in the fit's x (a grid trains every value of a cell; the envelope keeps one), its
    FLOPs every run it adds (flops_6nd, known before training)."""
    import copy

    from ..config import ConfigError
    from ..config.runs import expand_sweep, expand_target
    from ..config.targets import target_point

    target_spec = expand_target(target, sweep, config, ["targets", target["name"]])[0]
    target_x = target_point(target_spec, x_cols)
    ladder, _ = expand_sweep(sweep, config)
    known = {tuple(target_point(spec, x_cols)[c] for c in x_cols) for spec in ladder}

    def candidate(label, change, yaml):
        variant = {**copy.deepcopy(sweep), **change}
        try:
            specs, _ = expand_sweep(variant, config)
            points = {tuple(target_point(spec, x_cols)[c] for c in x_cols) for spec in specs}
            flops = sum(target_point(spec, ["flops_6nd"])["flops_6nd"] for spec in specs)
        except (ConfigError, ValueError, KeyError):  # a size the family cannot build, a budget out of range
            return None
        if not specs or ("seeds" not in change and points <= known):
            return None  # nothing trains, or nothing the law can tell from what the ladder has
        return {"label": label, "X": np.array(sorted(points)).T, "flops": float(flops), "yaml": yaml,
                "n_runs": len(specs)}

    out = [candidate(f"one more seed ({max(sweep['seeds']) + 1}) of every cell",
                     {"seeds": [max(sweep["seeds"]) + 1]}, {"seeds": [max(sweep["seeds"]) + 1]})]
    key = "compute_budgets" if "compute_budgets" in sweep else "budgets"
    budgets = sorted(sweep[key])
    step = budgets[-1] / budgets[-2] if len(budgets) > 1 else 3.0
    for value in (budgets[-1] * step, math.sqrt(budgets[-1] * budgets[-2]) if len(budgets) > 1 else None):
        if value is None:
            continue
        value = float(f"{value:.3g}") if key == "compute_budgets" else round(value)
        out.append(candidate(f"{key[:-1].replace('_', ' ')} {value:.3g} at every size", {key: [value]},
                             {key: [value]}))
    for size in _between(_largest_size(ladder, sweep), target["size"]):
        out.append(candidate(f"size {_flow(size)} at every budget", {"sizes": [size]}, {"sizes": [size]}))
    return target_x, [c for c in out if c is not None]


def _largest_size(ladder: list[dict], sweep: dict) -> dict:
    """The sweep size (its `sizes` entry) with the most parameters."""
    from ..config.targets import target_point

    best = max(ladder, key=lambda spec: target_point(spec, ["n_params"])["n_params"])
    return next(s for s in sweep["sizes"] if all(best["architecture"].get(k) == v for k, v in s.items()))


def _between(small: dict, large: dict, fractions=(1 / 3, 2 / 3)) -> list[dict]:
    """Sizes between two architectures: every numeric key they both give, interpolated geometrically (to a
    multiple of 8 where both ends are one), the other keys of the larger; none when no key grows."""
    out = []
    for f in fractions:
        size = dict(large)
        grew = False
        for key, hi in large.items():
            lo = small.get(key)
            if isinstance(lo, int) and isinstance(hi, int) and not isinstance(hi, bool) and 0 < lo < hi:
                value = math.exp((1 - f) * math.log(lo) + f * math.log(hi))
                unit = 8 if lo % 8 == 0 and hi % 8 == 0 else 1
                size[key] = max(lo + unit, min(hi - unit, round(value / unit) * unit))
                grew = grew or size[key] != lo
        if grew and size not in out and size != large:
            out.append(size)
    return out
