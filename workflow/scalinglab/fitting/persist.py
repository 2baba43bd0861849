"""The fit JSON: written from a `FitResult`, read back (and checked) into one (docs/fit-json.md)."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np

from .. import __version__, atomic
from ..laws import get_law
from .errors import FitInputError, UnfittableError
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


def unfittable_record(law, x, y, error, settings: dict) -> dict:
    """The fit JSON of a sweep the law cannot be fitted to (status "unfittable"): why, and which runs were left out
    for which reason, so that the report can say so and the rest of the study goes on."""
    from .prepare import x_list

    excluded = getattr(error, "excluded", {}) or {}
    return clean({"status": "unfittable", "reason": str(error), "law": law.name, "formula": law.formula,
                  "parameters": list(law.natural), "inputs": list(law.inputs), "x": x_list(x), "y": y,
                  "excluded": {k: len(v) for k, v in excluded.items()}, "excluded_runs": excluded,
                  "settings": settings, "version": {"scalinglab": __version__, "fit_format": FIT_FORMAT}})


def read_fit_json(path_or_dict) -> dict:
    """The fit JSON as a dict, checked to be one (a fit or an unfittable record), with errors naming the file."""
    d = _read(path_or_dict) if isinstance(path_or_dict, (str, Path)) else dict(path_or_dict)
    if not isinstance(d, dict):
        raise FitInputError(f"{_name(path_or_dict)} is not a fit JSON: it holds a {type(d).__name__}")
    if d.get("method") == "isoflop":
        raise FitInputError(f"{_name(path_or_dict)} is an approach-2 IsoFLOP fit (scalinglab fit --law isoflop): "
                            "parabolas per budget and N_opt(C), D_opt(C), not a law to evaluate; predict and plan "
                            "with the fit of a law, e.g. scalinglab fit --law chinchilla")
    required = ("law", "x", "y") if d.get("status") == "unfittable" else ("law", "params", "x", "y")
    for key in required:
        if key not in d:
            raise FitInputError(f"{_name(path_or_dict)} has no {key!r} key; is it a scalinglab fit?")
    return d


def load_fit(path_or_dict, law=None) -> FitResult:
    """Rebuild a FitResult from a fit JSON (path or dict), enough to predict with intervals. `law`: the `Law`
    object, for a law that is neither in the catalogue nor importable from the `law_ref` the JSON records.
    An unfittable record, a missing or null parameter, is a FitInputError naming the file and the parameter."""
    d = read_fit_json(path_or_dict)
    where = _name(path_or_dict)
    if d.get("status") == "unfittable":
        raise UnfittableError(f"{where}: law {d['law']!r} could not be fitted to these runs: {d.get('reason')}")
    law = get_law(law or d.get("law_ref") or d["law"])
    if not isinstance(d["params"], dict):
        raise FitInputError(f"{where}: 'params' must map parameter names to numbers, got {d['params']!r}")
    nat = np.array([_parameter(d["params"], name, law, where) for name in law.natural], dtype=float)
    theta = law.from_natural(nat[None, :])[0]
    kwargs = {f.name: d.get(f.name) for f in fields(FitResult) if f.name not in ("law", "theta")}
    for f in fields(FitResult):  # a key the JSON lacks (an older or hand-written fit): empty, not None
        if kwargs.get(f.name) is None and "dict" in str(f.type):
            kwargs[f.name] = {}
    kwargs["x"] = [d["x"]] if isinstance(d["x"], str) else list(d["x"])
    kwargs["bootstrap"] = d.get("bootstrap") or {"n": 0, "params": []}
    kwargs["status"] = d.get("status") or "ok"
    return FitResult(law=law, theta=theta, **kwargs)


def _parameter(params: dict, name: str, law, where: str) -> float:
    if name not in params:
        raise FitInputError(f"{where}: parameter {name!r} of law {law.name!r} is missing; the fit has "
                            f"{', '.join(map(str, params)) or 'no parameters'}, the law needs {', '.join(law.natural)}")
    value = params[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number):
        raise FitInputError(f"{where}: parameter {name!r} of law {law.name!r} is {json.dumps(value)}, not a finite "
                            "number; the fit cannot predict")
    return number


def _name(path_or_dict) -> str:
    return f"fit file {path_or_dict}" if isinstance(path_or_dict, (str, Path)) else "fit JSON"


def _read(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FitInputError(f"fit file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FitInputError(f"{path} is not a fit JSON: {error}") from None
