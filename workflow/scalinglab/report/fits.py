"""The fits a report shows, read through the fitting API, and how their numbers are written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fitting import FitResult, load_fit
from ..fitting.persist import read_fit_json

# Parameter names that are exponents: the headline quotes these first.
EXPONENT_NAMES = ("alpha", "beta", "gamma", "c", "c0", "c1", "alpha_N", "alpha_D")


@dataclass
class SweepFit:
    sweep: str  # results/fits/SWEEP/LAW.json
    path: str
    result: FitResult

    @property
    def law(self) -> str:
        return self.result.law.name


@dataclass
class Unfittable:
    """A sweep the law could not be fitted to (`scalinglab fit --if-unfittable record`): why, and the runs left out."""

    sweep: str
    path: str
    law: str
    reason: str
    excluded_runs: dict  # reason -> [run ids]
    excluded: dict  # reason -> count


def load_fits(paths) -> list[SweepFit | Unfittable]:
    """The fits of a study, and the records of those that could not be made."""
    out = []
    for path in paths:
        sweep, d = Path(path).parent.name, read_fit_json(path)
        if d.get("status") == "unfittable":
            out.append(Unfittable(sweep, str(path), d["law"], d.get("reason", ""), d.get("excluded_runs") or {},
                                  d.get("excluded") or {}))
        else:
            out.append(SweepFit(sweep, str(path), load_fit(d)))
    return out


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def interval_of(result: FitResult, name: str):
    """(low, high) of a parameter or derived quantity, or None without an interval."""
    bounds = result.intervals.get(name)
    if bounds is None and name in result.derived:
        bounds = result.derived[name].get("interval")
    if not bounds or any(v is None for v in bounds):
        return None
    return float(bounds[0]), float(bounds[1])


def fmt_interval(result: FitResult, name: str, digits: int = 4) -> str:
    bounds = interval_of(result, name)
    return "" if bounds is None else f"[{fmt(bounds[0], digits)}, {fmt(bounds[1], digits)}]"


def headline(fit: SweepFit) -> str:
    """Each fitted law in one sentence: formula, its key parameters with intervals, backtest error."""
    r = fit.result
    keys = [n for n in r.params if n in EXPONENT_NAMES] or list(r.params)
    keys += [n for n in ("a_opt", "b_opt") if n in r.derived]
    parts = []
    for name in keys:
        value = r.params[name] if name in r.params else r.derived[name]["value"]
        bound = " (on a bound of the law: not a real interval)" if name in r.at_bound else ""
        parts.append(f"{name} = {fmt(value, 3)} {fmt_interval(r, name, 3)}".rstrip() + bound)
    sentence = f"{fit.sweep}: {r.y} vs {', '.join(r.x)} follows {r.law.formula} with " + ", ".join(parts)
    has_interval = interval_of(r, keys[0]) is not None
    sentence += f" ({r.ci:.0%} bootstrap intervals" if has_interval else " (no intervals"
    sentence += f", {r.n_points} points"
    if r.n_excluded:
        sentence += f", {r.n_excluded} excluded"
    sentence += ")"
    error = r.backtest.get("rms_log_error")
    if error is not None:
        held = ", ".join(str(o["holdout"]) for o in r.backtest["origins"] if "rms_log_error" in o)
        sentence += (f"; extrapolation backtest RMS log error {fmt(100 * float(error), 3)}%"
                     f" (mean over holding out the largest {held})")
    else:
        sentence += "; no extrapolation backtest"
    return sentence + "."
