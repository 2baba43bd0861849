"""Targets: predict a larger run from the ladder's fit before it trains, and score the prediction once it has.

    predict_target(fit, ladder, target=..., sweep=..., x={...}, run_ids=[...], grid={...}) -> the prediction file
    score(predictions, truths) -> (one row per target run, the scorecard)

The prediction file (results/STUDY/predictions/TARGET.json) holds `target`, `sweep`, `run_ids`, `law`, `x`, `y`,
`value`, `confidence_interval` (where the mean loss of runs at x lies), `prediction_interval` (where one new run
lands: the fit's bootstrap draws with its observation noise), `ci`, `accuracy`, `grid_choice` (for a grid sweep:
the value that won at the largest ladder size, which the target then trains), `fit_hash`, `n_ladder_runs` and
`predicted_at` (ISO 8601 UTC, before the target's `started_at`).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def grid_choice(ladder, y: str, grid: dict) -> dict:
    """The grid value ({key: value}, as the config wrote it) that won at the largest ladder size (its largest
    budget): the envelope's choice (`fitting.envelope`, the one place winners are computed); {} without a grid."""
    from . import envelope

    if not grid:
        return {}
    columns = [f"{envelope.PREFIX}{key}" for key in grid]
    size = "n_params" if "n_params" in ladder else None
    record = envelope.envelope(ladder, y, columns, envelope.cell_columns(ladder, [size] if size else []),
                               size=size).record
    choice = envelope.choice_at_largest(record)
    if not choice:
        raise ValueError("no ladder run finished: no grid value can be chosen")
    return {key: _plain(choice[key], grid[key]) for key in grid}


def _plain(value, allowed: list):
    """The grid value as the config wrote it (parquet may hold lists as JSON text, numbers as numpy scalars)."""
    for candidate in allowed:
        text = json.dumps(candidate, sort_keys=True, separators=(",", ":")) if isinstance(candidate, (list, dict)) \
            else candidate
        if text == value or (isinstance(candidate, (int, float)) and not isinstance(candidate, bool)
                             and isinstance(value, (int, float)) and math.isclose(float(candidate), float(value))):
            return candidate
    return value.item() if hasattr(value, "item") else value


def predict_target(fit_path, ladder, *, target: str, sweep: str, x: dict, run_ids: list, grid: dict | None = None,
                   ci: float | None = None, curves=None) -> dict:
    """The prediction file of one target from the ladder's fit (a fit JSON) and the ladder's runs (metrics rows of
    the sweep): the law's value at x with the confidence band of the fitted curve and the prediction interval of one
    new run; where the ladder measured accuracy beside the fitted loss, the accuracy in two steps (`accuracy`:
    a sigmoid link fitted on the ladder's runs and their checkpoints in `curves`, chained to the loss draws)."""
    from .persist import load_fit
    from .predict import predict

    text = Path(fit_path).read_bytes()
    result = load_fit(json.loads(text))
    rows = ladder[ladder["sweep"] == sweep] if "sweep" in ladder else ladder
    p = predict(result, {column: float(value) for column, value in x.items()}, ci=ci)
    return {
        "target": target,
        "sweep": sweep,
        "run_ids": list(run_ids),
        "law": result.law.name,
        "x": {column: float(value) for column, value in x.items()},
        "y": result.y,
        "value": _number(p["value"][0]),
        "confidence_interval": [_number(bound[0]) for bound in p["confidence_interval"]],
        "prediction_interval": [_number(bound[0]) for bound in p["prediction_interval"]],
        "ci": p["ci"],
        "accuracy": _two_step_accuracy(result, rows, curves, x, p),
        "grid_choice": grid_choice(rows, result.y, grid or {}),
        "fit_hash": hashlib.sha256(text).hexdigest()[:12],
        "n_ladder_runs": int((rows["status"] == "ok").sum()) if "status" in rows else len(rows),
        "predicted_at": utc_now(),
    }


def _two_step_accuracy(result, ladder, curves, x: dict, loss_prediction: dict) -> dict | None:
    """The accuracy at the target (`fitting.accuracy`), or None when the ladder measured none beside its loss."""
    from .accuracy import ladder_pairs, predict_accuracy
    from .predict import prediction_draws

    pairs = ladder_pairs(ladder, curves, result.y)
    if pairs is None:
        return None
    at = {column: float(value) for column, value in x.items()}
    curve, new_run = prediction_draws(result, at, ci=loss_prediction["ci"])
    return predict_accuracy(pairs, float(loss_prediction["value"][0]), None if curve is None else curve[:, 0],
                            None if new_run is None else new_run[:, 0], float(loss_prediction["ci"]))


def score(predictions: list[dict], truths) -> tuple:
    """(one row per target run: its prediction, truth and errors; the scorecard: per target the prediction, the
    mean truth over its runs, the relative error, and whether the truth fell inside the prediction interval of a
    new run and inside the confidence band of the mean). `truths`: metrics rows of the target runs, with `target`."""
    import pandas as pd

    from .accuracy import score_accuracy

    rows, card = [], {}
    for p in predictions:
        runs = truths[truths["target"] == p["target"]] if len(truths) else truths
        lo, hi = p["prediction_interval"]
        clo, chi = p["confidence_interval"]
        values, accuracies = [], []
        two_step = p.get("accuracy")
        for _, run in runs.iterrows():
            ok = run.get("status", "ok") == "ok" and pd.notna(run.get(p["y"]))
            truth = float(run[p["y"]]) if ok else None
            values += [truth] if truth is not None else []
            accuracy = None
            if two_step and ok and pd.notna(run.get(two_step["y"])):
                accuracy = float(run[two_step["y"]])
                accuracies.append(accuracy)
            rows.append({
                "target": p["target"], "sweep": p["sweep"], "run_id": run.get("run_id"), "seed": run.get("seed"),
                "status": run.get("status", "ok"), "y": p["y"], "truth": truth, "prediction": p["value"],
                "relative_error": None if truth is None else (p["value"] - truth) / truth,
                "in_prediction_interval": _inside(truth, lo, hi), "in_confidence_interval": _inside(truth, clo, chi),
                "predicted_at": p["predicted_at"], "started_at": run.get("started_at"),
                **({} if not two_step else {
                    "accuracy_truth": accuracy, "accuracy_prediction": two_step["value"],
                    **{f"accuracy_{k}": v for k, v in score_accuracy(two_step, accuracy).items()
                       if k in ("relative_error", "in_prediction_interval", "in_confidence_interval")}}),
            })
        truth = sum(values) / len(values) if values else None
        card[p["target"]] = {
            "sweep": p["sweep"], "law": p["law"], "y": p["y"], "x": p["x"], "prediction": p["value"],
            "confidence_interval": p["confidence_interval"], "prediction_interval": p["prediction_interval"],
            "ci": p["ci"], "grid_choice": p.get("grid_choice") or {}, "truth": truth, "n_runs": len(values),
            "relative_error": None if truth is None else (p["value"] - truth) / truth,
            "in_prediction_interval": _inside(truth, lo, hi), "in_confidence_interval": _inside(truth, clo, chi),
            "n_ladder_runs": p["n_ladder_runs"], "fit_hash": p["fit_hash"], "predicted_at": p["predicted_at"],
            "accuracy": None if not two_step else score_accuracy(
                two_step, sum(accuracies) / len(accuracies) if accuracies else None),
        }
    table = pd.DataFrame(rows)
    return table, {"targets": card}


def _inside(value, lo, hi) -> bool | None:
    if value is None or lo is None or hi is None:
        return None
    return bool(lo <= value <= hi)
