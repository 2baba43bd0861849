"""The fit JSON: written from a `FitResult`, read back (and checked) into one (docs/fit-json.md)."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np

from .. import __version__, atomic
from ..laws import get_law
from .errors import FitInputError
from .result import FitResult

FIT_FORMAT = 2  # 2: information_criteria, multi-origin backtest, bootstrap_unit, at_bound, identification


def clean(value):
    """JSON-safe: numpy to python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def fit_json(result: FitResult) -> dict:
    law = result.law
    d = {"law": law.name, "formula": law.formula, "parameters": list(law.natural), "inputs": list(law.inputs),
         "fit_parameters": list(law.params)}
    for f in fields(result):
        if f.name not in ("law", "theta"):
            d[f.name] = getattr(result, f.name)
    d["version"] = {"scalinglab": __version__, "fit_format": FIT_FORMAT}
    return clean(d)


def save_fit(result: FitResult, path):
    return atomic.write_json(path, fit_json(result))


def unfitted_json(law: str, x, y: str, reason: str, excluded: dict, settings: dict) -> dict:
    """The record of a law that could not be fitted to a sweep (too few usable runs): `fitted: false`, why, and the
    rows left out by reason, so the report can say it instead of the workflow stopping."""
    return clean({"law": law, "x": x, "y": y, "fitted": False, "reason": reason, "excluded": excluded,
                  "settings": settings, "version": {"scalinglab": __version__, "fit_format": FIT_FORMAT}})


def is_unfitted(d: dict) -> bool:
    return d.get("fitted") is False


def load_fit(path_or_dict, law=None) -> FitResult:
    """Rebuild a FitResult from a fit JSON (path or dict), enough to predict with intervals. `law`: the `Law`
    object, for a law that is neither in the catalogue nor importable from the `law_ref` the JSON records."""
    d = _read(path_or_dict) if isinstance(path_or_dict, (str, Path)) else dict(path_or_dict)
    for key in ("law", "params", "x", "y"):
        if key not in d:
            raise FitInputError(f"fit JSON has no {key!r} key; is it a scalinglab fit?")
    law = get_law(law or d.get("law_ref") or d["law"])
    nat = np.array([d["params"][n] for n in law.natural], dtype=float)
    theta = law.from_natural(nat[None, :])[0]
    kwargs = {f.name: d.get(f.name) for f in fields(FitResult) if f.name not in ("law", "theta")}
    for f in fields(FitResult):  # a key the JSON lacks (an older or hand-written fit): empty, not None
        if kwargs.get(f.name) is None and "dict" in str(f.type):
            kwargs[f.name] = {}
    kwargs["bootstrap"] = d.get("bootstrap") or {"n": 0, "params": []}
    return FitResult(law=law, theta=theta, **kwargs)


def _read(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FitInputError(f"fit file not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise FitInputError(f"{path} is not a fit JSON: {error}") from None
