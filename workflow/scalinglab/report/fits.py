"""Read fit JSON files and turn them into predictions and bootstrap bands through the law catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Parameter names that are exponents: the headline quotes these first.
EXPONENT_NAMES = ("alpha", "beta", "gamma", "c", "c0", "c1", "a_n", "a_d", "alpha_n", "alpha_d", "aN", "aD")


def load_fit(path: str | Path) -> dict:
    with open(path) as handle:
        fit = json.load(handle)
    fit.setdefault("law", Path(path).stem)
    fit.setdefault("sweep", Path(path).parent.name)
    fit["_path"] = str(path)
    return fit


def x_columns(fit: dict) -> list[str]:
    x = fit.get("x") or (fit.get("settings") or {}).get("x") or "n_params"
    if isinstance(x, str):
        x = [part for part in x.split(",") if part]
    return list(x)


def y_column(fit: dict) -> str:
    return fit.get("y") or (fit.get("settings") or {}).get("y") or "final_val_loss"


def ci_level(fit: dict) -> float:
    return float(fit.get("ci") or (fit.get("settings") or {}).get("ci") or 0.95)


def param_names(fit: dict) -> list[str]:
    names = fit.get("parameters")
    if not names:
        names = list((fit.get("params") or {}).keys())
    return list(names)


def natural_params(fit: dict) -> dict[str, float]:
    params = fit.get("params") or {}
    if isinstance(params, list):
        params = dict(zip(param_names(fit), params))
    return {name: float(value) for name, value in params.items()}


def interval(fit: dict, name: str):
    """(low, high) of a parameter or derived quantity, or None."""
    intervals = fit.get("intervals") or {}
    value = intervals.get(name)
    if value is None and name in (fit.get("derived") or {}):
        value = (fit["derived"][name] or {}).get("interval")
    if isinstance(value, dict):
        value = [value.get("low", value.get("lo")), value.get("high", value.get("hi"))]
    if value is None or len(value) != 2 or any(v is None for v in value):
        return None
    return float(value[0]), float(value[1])


class Predictor:
    """Predictions of one fit, at its point estimate and at each bootstrap parameter vector."""

    def __init__(self, fit: dict):
        from ..laws import get_law

        self.fit = fit
        self.law = get_law(fit["law"])
        self.names = param_names(fit)
        natural = natural_params(fit)
        self.point = self._internal(np.array([[natural[n] for n in self._order()]]))
        boot = ((fit.get("bootstrap") or {}).get("params")) or []
        boot = np.array([row for row in boot if row is not None], dtype=float)
        if boot.ndim == 2 and boot.shape[1] == len(self.names):
            # bootstrap vectors follow fit["parameters"]; reorder them into the law's order
            index = [self.names.index(n) for n in self._order()] if set(self._order()) <= set(self.names) else None
            boot = boot[:, index] if index is not None else boot
            boot = boot[np.all(np.isfinite(boot), axis=1)]
            self.boot = self._internal(boot) if len(boot) else None
        else:
            self.boot = None

    def _order(self) -> list[str]:
        if set(self.law.natural) <= set(self.names) or not set(self.law.params) <= set(self.names):
            return list(self.law.natural)
        return list(self.law.params)

    def _internal(self, matrix: np.ndarray) -> np.ndarray:
        if self._order() == list(self.law.natural):
            with np.errstate(all="ignore"):
                return self.law.from_natural(matrix)
        return matrix

    @property
    def n_inputs(self) -> int:
        return len(self.law.inputs)

    def predict(self, X) -> np.ndarray:
        """X: (k, n) inputs -> (n,) predictions at the point estimate."""
        return self.law.predict(self.point, np.atleast_2d(X))[0]

    def band(self, X, ci: float | None = None):
        """(low, high) percentile band of the bootstrap predictions at X, or None without bootstrap."""
        if self.boot is None or len(self.boot) < 5:
            return None
        ci = ci_level(self.fit) if ci is None else ci
        draws = self.law.predict(self.boot, np.atleast_2d(X))
        draws = np.where(np.isfinite(draws), draws, np.nan)
        with np.errstate(all="ignore"):
            low, high = np.nanquantile(draws, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0)
        return low, high


def predictor(fit: dict) -> Predictor | None:
    try:
        return Predictor(fit)
    except Exception:  # an unknown law or an unreadable fit: the report still shows the numbers it has
        return None


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


def fmt_interval(fit: dict, name: str) -> str:
    bounds = interval(fit, name)
    return "" if bounds is None else f"[{fmt(bounds[0])}, {fmt(bounds[1])}]"


def headline(fit: dict, label: str) -> str:
    """Each fitted law in one sentence: formula, its key parameters with intervals, backtest error."""
    params = natural_params(fit)
    ci = ci_level(fit)
    keys = [n for n in params if n in EXPONENT_NAMES] or list(params)
    derived = fit.get("derived") or {}
    extra = [n for n in ("a_opt", "b_opt") if n in derived]
    parts = []
    for name in keys:
        text = f"{name} = {fmt(params[name], 3)}"
        bounds = interval(fit, name)
        if bounds is not None:
            text += f" [{fmt(bounds[0], 3)}, {fmt(bounds[1], 3)}]"
        parts.append(text)
    for name in extra:
        value = derived[name]
        value = value.get("value") if isinstance(value, dict) else value
        text = f"{name} = {fmt(value, 3)}"
        bounds = interval(fit, name)
        if bounds is not None:
            text += f" [{fmt(bounds[0], 3)}, {fmt(bounds[1], 3)}]"
        parts.append(text)
    formula = fit.get("formula") or fit["law"]
    sentence = f"{label}: {y_column(fit)} vs {', '.join(x_columns(fit))} follows {formula} with " + ", ".join(parts)
    sentence += f" ({ci:.0%} bootstrap intervals" if interval(fit, keys[0]) is not None else " (no intervals"
    sentence += f", {fit.get('n_points', '?')} points"
    if fit.get("n_excluded"):
        sentence += f", {fit['n_excluded']} excluded"
    sentence += ")"
    backtest = fit.get("backtest") or {}
    if backtest.get("rms_log_error") is not None:
        sentence += (f"; extrapolation backtest RMS log error {fmt(100 * float(backtest['rms_log_error']), 3)}%"
                     f" on the {backtest.get('holdout', '?')} largest held out")
    else:
        sentence += "; no extrapolation backtest"
    return sentence + "."
