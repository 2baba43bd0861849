"""When a run has diverged: a rule on the losses, so that the answer is the same on any CPU or GPU.

A float overflow is not a rule: the same too-large learning rate ends in NaN on one machine and in a finite loss of
6.7e8 on another. A built-in run is `diverged` when either rule fires (the first one that fires is recorded in
`divergence_rule`, its step in `diverged_step`, and training stops there):

- `nonfinite_loss`: a training batch's loss, or an evaluation's validation loss, is NaN or inf;
- `loss_above_initial`: the validation loss is above FACTOR x the reference loss at PATIENCE consecutive
  evaluations, or at the run's last evaluation. The reference is the larger of the loss of a constant prediction
  (uniform over the vocabulary or the classes: ln V or ln K; for regression, the variance of the training targets,
  i.e. predicting their mean) and the loss of the run's first training batch before any update. A model that ends
  three times worse than knowing nothing has not learned anything a fit should see.
"""

from __future__ import annotations

import math

FACTOR = 3.0
PATIENCE = 2
NONFINITE = "nonfinite_loss"
ABOVE_INITIAL = "loss_above_initial"


def constant_prediction_loss(meta: dict, arrays: dict) -> float:
    """The loss of the best input-independent uniform guess: ln V (lm), ln K (classification), or the mean over
    outputs of the training targets' variance (regression, predicting their mean)."""
    if meta["task"] == "lm":
        return math.log(int(meta["vocab_size"]))
    if meta["task"] == "classification":
        return math.log(int(meta["n_classes"]))
    y = arrays["y_train"]
    return float(y.reshape(len(y), -1).astype("float64").var(axis=0).mean())


def threshold(constant_loss: float, initial_loss: float) -> float:
    """The validation loss above which an evaluation counts against the run."""
    return FACTOR * max(constant_loss, initial_loss)


def strikes_after(val_loss: float, limit: float, strikes: int) -> int:
    """Consecutive evaluations above `limit`, counting this one."""
    return strikes + 1 if val_loss > limit else 0


def fired(strikes: int, last_evaluation: bool) -> bool:
    return strikes >= PATIENCE or (strikes > 0 and last_evaluation)
