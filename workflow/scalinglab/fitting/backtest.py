"""The multi-origin extrapolation backtest (after Alabdulmohsin et al. 2022): for each k in `holdouts`, refit the law
without the k largest levels of the extrapolation axis and score the held-out points; the score is the mean over
origins of the RMS log error, with a bootstrap interval.

The axis is the size for one-input laws and compute C = 6 x0 x1 (6ND) for two-input laws, so a two-input law is
judged on the runs it would be asked to predict, the most expensive ones, not along N alone. Each origin is fitted
from the law's own starting points: warm-starting from the fit on all the data would leak the held-out points.

The interval resamples, per draw, the training rows (by the fit's bootstrap unit; each origin refitted, warm-started
from its own optimum) and the held-out points, so it carries both the fit's and the test set's uncertainty. The draws
use the fit's seed: two laws fitted to the same table get the same resamples, so their difference per draw is a
paired comparison (`compare.rank_laws`)."""

from __future__ import annotations

import numpy as np

from .bootstrap import Resamples, in_chunks, interval, refit_all
from .errors import FitError
from .multistart import point_fit
from .prepare import levels
from .workers import InBackground

DEFAULT_HOLDOUTS = (1, 2, 3)
MAX_RESAMPLES = 200  # backtest draws by default: min(bootstrap, this)
# Origins are fitted in worker processes up to this many rows. Beyond it a fit's temporaries are large, and copies of
# them in several processes at once would break the memory bound of a large fit (< 2 GiB at 1,000,000 rows).
PARALLEL_ROWS = 100_000


def backtest_axis(law, X) -> tuple[str, np.ndarray]:
    """(name, values) of the axis the backtest holds out along."""
    if X.shape[0] == 2:
        return "compute = 6 * x0 * x1", 6.0 * X[0] * X[1]
    return "x", X[0]


def _holdouts(holdouts) -> list[int]:
    return sorted({int(k) for k in holdouts or () if int(k) > 0})


def start_origins(law, X, y, holdouts, settings, workers: int = 1) -> InBackground:
    """The origins' fits (one per holdout count), started now in up to `workers - 1` worker processes
    (fitting.workers), so that they run while this process fits the law on all the data; pass the result to
    `backtest(..., origins=...)`. The same results whatever `workers`."""
    level = levels(backtest_axis(law, X)[1])
    return InBackground(lambda k: _origin(law, X, y, level, k, settings), _holdouts(holdouts),
                        workers if X.shape[1] <= PARALLEL_ROWS else 1)


def backtest(law, X, y, holdouts, settings, groups=None, origins: InBackground | None = None) -> dict:
    """The multi-origin backtest of `law` on raw arrays X (k, n), y (n,). See the module docstring. `origins`: the
    origins' fits from `start_origins` with the same arguments (else they are fitted here, one after another)."""
    holdouts = _holdouts(holdouts)
    axis = backtest_axis(law, X)[0]
    out = {"holdouts": holdouts, "axis": axis, "origins": [], "rms_log_error": None, "interval": [None, None],
           "n_resamples": 0, "draws": []}
    if not holdouts:
        out["skipped"] = "no holdouts requested"
        return out
    origins = (origins or start_origins(law, X, y, holdouts, settings)).results()
    out["origins"] = [o["record"] for o in origins]
    scored = [o for o in origins if "theta" in o]
    if not scored:
        out["skipped"] = "no origin could be scored: " + "; ".join(o["record"]["skipped"] for o in origins)
        return out
    level = levels(backtest_axis(law, X)[1])
    for o in scored:  # each origin's training rows, rebuilt here: a mask of every row need not travel from a worker
        o["train"] = _training_rows(level, o["record"]["holdout"])
    out["rms_log_error"] = float(np.mean([o["record"]["rms_log_error"] for o in scored]))
    B = int(settings.get("backtest_resamples") or 0)
    if B > 0:
        draws = _draws(law, X, y, scored, groups, B, settings)
        out.update(n_resamples=B, draws=draws.tolist(), interval=interval(draws, float(settings["ci"])))
    return out


def _training_rows(level, k) -> np.ndarray:
    """The rows an origin is fitted on: all but the k largest levels."""
    return level < int(level.max()) + 1 - k


def _origin(law, X, y, level, k, settings) -> dict:
    n_levels = int(level.max()) + 1
    record = {"holdout": k}
    if n_levels - k < 2:
        return {"record": {**record, "skipped": f"{n_levels} levels; holding out {k} needs at least {k + 2}"}}
    train = _training_rows(level, k)
    if train.sum() < law.n_params:
        return {"record": {**record, "skipped": f"{int(train.sum())} training points < {law.n_params} parameters"}}
    try:
        theta, point, scales, Xs, logy = point_fit(law, X[:, train], y[train], settings)
    except FitError as error:
        return {"record": {**record, "skipped": f"fit without the largest {k} failed: {error}"}}
    with np.errstate(all="ignore"):
        err = law.log_predict(theta[None, :], X)[0] - np.log(y)
    bad = int(np.sum(~np.isfinite(err[~train])))
    err = np.where(np.isfinite(err), err, np.inf)  # a prediction <= 0 is infinitely wrong on a log scale
    record.update({
        "n_train": int(train.sum()),
        "n_test": int((~train).sum()),
        "rms_log_error": float(np.sqrt(np.mean(err[~train] ** 2))),
        "mean_log_error": float(np.mean(err[~train])),
        "rms_log_error_train": float(np.sqrt(np.mean(err[train] ** 2))),
        "params": {n: float(v) for n, v in zip(law.natural, law.to_natural(theta))},
    })
    if bad:
        record["note"] = f"the refitted law predicts y <= 0 at {bad} held-out point(s): an infinite log error"
    return {"record": record, "theta": theta, "point": point, "scales": scales}


def _draws(law, X, y, scored, groups, B, settings) -> np.ndarray:
    """(B,) mean-over-origins RMS log error, each draw refitting every origin on resampled training runs and
    scoring it on resampled held-out points."""
    rng = np.random.default_rng([int(settings.get("seed", 0)), 1])  # its own stream: the bootstrap's is untouched
    logy = np.log(y)
    errors = np.full((B, len(scored)), np.nan)
    for j, o in enumerate(scored):
        train, test = o["train"], np.flatnonzero(~o["train"])
        Xs = X[:, train] / o["scales"][:, None]
        unit = None if groups is None else groups[train]
        draw = Resamples(int(train.sum()), unit, [int(settings.get("seed", 0)), 1, j])  # same draws for every law
        scaled, f, _, _ = refit_all(law, Xs, logy[train], settings["huber_delta"], o["point"], settings, draw, B,
                                    o["point"].theta[None, :])
        theta = law.unscale(scaled, o["scales"]) if law.scale_inputs else scaled
        rms = np.empty(B)
        for part in in_chunks(B, test.size, 8):  # (draws, held-out points) x the law's temporaries: bounded
            with np.errstate(all="ignore"):
                resid = law.log_predict(theta[part], X[:, test]) - logy[test][None, :]
            resid = np.where(np.isfinite(resid), resid, np.inf)
            pick = rng.integers(0, test.size, size=(resid.shape[0], test.size))
            rms[part] = np.sqrt(np.mean(np.take_along_axis(resid, pick, axis=1) ** 2, axis=1))
        errors[:, j] = np.where(np.isfinite(f), rms, np.nan)
    return np.mean(errors, axis=1)
