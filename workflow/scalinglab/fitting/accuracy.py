"""Accuracy predicted in two steps, as the OLMo ladder does (Bhagia et al. 2024): the loss law predicts the target's
loss; a sigmoidal link, fitted on the ladder, maps loss to accuracy:

    acc(L) = floor + (ceiling - floor) / (1 + exp(k (L - L0)))      (k > 0: accuracy falls as the loss rises)

The link is fitted on every (loss, accuracy) pair of the ladder: each finished run's final values and its
checkpoints' evaluations (curves.parquet), by least squares in accuracy. Its uncertainty is chained to the loss
prediction's: each bootstrap draw of the loss curve at the target goes through a link refitted on a resample of the
ladder's runs (all of a run's points together); the confidence interval is the spread of those accuracies, the
prediction interval adds a new run's loss noise (the fit's observation noise) and the link's residual scatter.
"""

from __future__ import annotations

import math

import numpy as np

FORMULA = "acc = floor + (ceiling - floor) / (1 + exp(k (L - L0)))"
PAIRS = {  # the loss column a fit predicts -> the accuracy measured with it (docs/metrics.md)
    "final_val_loss": ("val_accuracy", "val_loss", "val_accuracy"),
    "test_loss": ("test_accuracy", "val_loss", "val_accuracy"),
    "test_loss_at_best_val": ("test_accuracy_at_best_val", "val_loss", "val_accuracy"),
}
MIN_POINTS = 5  # (loss, accuracy) pairs a 4-parameter link needs, at least
LINK_RESAMPLES = 200  # link refits chained to the loss draws (each loss draw meets one of them)


def accuracy_column(loss_column: str, table) -> tuple[str, str | None, str | None] | None:
    """(the accuracy column paired with `loss_column`, the curves' loss and accuracy columns or None), or None when
    the table has no such accuracy (a regression sweep, or a loss with no accuracy measured beside it)."""
    if loss_column in PAIRS:
        accuracy, curve_loss, curve_accuracy = PAIRS[loss_column]
    elif loss_column.endswith("loss"):
        accuracy, curve_loss, curve_accuracy = loss_column[: -len("loss")] + "accuracy", None, None
    else:
        return None
    return (accuracy, curve_loss, curve_accuracy) if accuracy in table else None


def ladder_pairs(ladder, curves, loss_column: str):
    """(loss, accuracy, run of each pair, accuracy column) from the ladder's finished runs and their checkpoints,
    or None when there are fewer than MIN_POINTS pairs or the accuracy never varies."""
    import pandas as pd

    pair = accuracy_column(loss_column, ladder)
    if pair is None:
        return None
    accuracy, curve_loss, curve_accuracy = pair
    ok = ladder[(ladder["status"] == "ok")] if "status" in ladder else ladder
    frames = [pd.DataFrame({"loss": ok[loss_column], "acc": ok[accuracy], "run": ok.get("run_id", ok.index)})]
    if curves is not None and len(curves) and curve_loss in curves and curve_accuracy in curves \
            and "run_id" in curves and "run_id" in ok:
        points = curves[curves["run_id"].isin(set(ok["run_id"]))]
        frames.append(pd.DataFrame({"loss": points[curve_loss], "acc": points[curve_accuracy],
                                    "run": points["run_id"]}))
    pairs = pd.concat(frames, ignore_index=True)
    pairs = pairs[np.isfinite(pairs["loss"].astype(float)) & np.isfinite(pairs["acc"].astype(float))]
    if len(pairs) < MIN_POINTS or pairs["acc"].nunique() < 3:
        return None
    return (pairs["loss"].to_numpy(float), pairs["acc"].to_numpy(float), pairs["run"].astype(str).to_numpy(),
            accuracy)


def link(params, loss):
    floor, ceiling, k, l0 = params
    with np.errstate(over="ignore"):
        return floor + (ceiling - floor) / (1.0 + np.exp(k * (np.asarray(loss) - l0)))


def fit_link(loss: np.ndarray, acc: np.ndarray, start=None) -> np.ndarray:
    """Least-squares sigmoid link (floor, ceiling, k, L0), floor and ceiling within [0, 1], from a few starts."""
    from scipy.optimize import least_squares

    span = max(float(np.ptp(loss)), 1e-6)
    lower = [0.0, 0.0, 1e-3 / span, loss.min() - 3 * span]
    upper = [1.0, 1.0, 1e3 / span, loss.max() + 3 * span]
    starts = [start] if start is not None else [
        [max(acc.min() - 0.05, 0.0), min(acc.max() + 0.05, 1.0), 4.0 / span, float(np.median(loss))],
        [0.0, 1.0, 1.0 / span, float(np.median(loss))],
        [max(acc.min() - 0.2, 0.0), min(acc.max() + 0.2, 1.0), 10.0 / span, float(loss.mean())],
    ]
    best = None
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=float), np.add(lower, 1e-9), np.subtract(upper, 1e-9))
        result = least_squares(lambda p: link(p, loss) - acc, x0, bounds=(lower, upper))
        if best is None or result.cost < best.cost:
            best = result
    return best.x


def predict_accuracy(pairs, loss_value: float, loss_draws: np.ndarray | None, noisy_draws: np.ndarray | None,
                     ci: float, seed: int = 0) -> dict:
    """The two-step prediction at the target: the link at the predicted loss, the confidence interval of the mean
    run's accuracy (loss curve draws through resampled links) and the prediction interval of one new run (noisy loss
    draws through them, plus the link's residual scatter)."""
    loss, acc, runs, column = pairs
    params = fit_link(loss, acc)
    resid = link(params, loss) - acc
    scatter = float(np.sqrt(np.sum(resid**2) / max(resid.size - 4, 1)))
    out = {"y": column, "value": float(np.clip(link(params, loss_value), 0.0, 1.0)),
           "confidence_interval": [None, None], "prediction_interval": [None, None], "ci": ci,
           "link": {"formula": FORMULA, "params": dict(zip(("floor", "ceiling", "k", "L0"), map(float, params))),
                    "n_points": int(loss.size), "n_runs": int(np.unique(runs).size), "rms": scatter,
                    "loss_range": [float(loss.min()), float(loss.max())],
                    "extrapolated": bool(not loss.min() <= loss_value <= loss.max())}}
    if loss_draws is None or not len(loss_draws):
        return out
    rng = np.random.default_rng([seed, 7])
    links = _resampled_links(loss, acc, runs, params, min(LINK_RESAMPLES, len(loss_draws)), rng)
    which = np.arange(len(loss_draws)) % len(links)
    mean = np.array([link(links[w], d) for w, d in zip(which, loss_draws)])
    q = [50 * (1 - ci), 100 - 50 * (1 - ci)]
    out["confidence_interval"] = [float(v) for v in np.clip(np.percentile(mean, q), 0, 1)]
    if noisy_draws is not None:
        new = np.array([link(links[w], d) for w, d in zip(which, noisy_draws)]) + rng.normal(0, scatter, len(which))
        out["prediction_interval"] = [float(v) for v in np.clip(np.percentile(new, q), 0, 1)]
    return out


def _resampled_links(loss, acc, runs, params, count, rng) -> list:
    """Links refitted (from the point fit) on `count` resamples of the ladder's runs, each run's points together."""
    names, index = np.unique(runs, return_inverse=True)
    members = [np.flatnonzero(index == i) for i in range(names.size)]
    out = []
    for _ in range(count):
        pick = np.concatenate([members[i] for i in rng.integers(0, names.size, names.size)])
        try:
            out.append(fit_link(loss[pick], acc[pick], start=params))
        except ValueError:  # a degenerate resample (one loss value): keep the point link
            out.append(params)
    return out


def score_accuracy(prediction: dict, truth: float | None) -> dict:
    """The accuracy part of a target's score: prediction, truth, relative error, inside each interval."""
    def inside(bounds):
        if truth is None or not bounds or None in bounds:
            return None
        return bool(bounds[0] <= truth <= bounds[1])

    value = prediction["value"]
    return {"y": prediction["y"], "prediction": value, "truth": truth,
            "relative_error": None if truth is None or not truth or math.isnan(truth) else (value - truth) / truth,
            "confidence_interval": prediction["confidence_interval"],
            "prediction_interval": prediction["prediction_interval"],
            "in_prediction_interval": inside(prediction["prediction_interval"]),
            "in_confidence_interval": inside(prediction["confidence_interval"])}
