"""A run's `train` block, and the arithmetic of its steps: how many optimizer steps a budget buys, when to evaluate,
the learning rate at each step.

Standard library only: `scalinglab.resources` (imported by the Snakefile at parse time) counts steps with the same
`count_steps` the trainer uses, so a cluster request and the run it sizes can never disagree.
"""

from __future__ import annotations

import math

# torch.optim.lr_scheduler.OneCycleLR's defaults (cosine annealing, momentum cycling)
ONECYCLE = {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "base_momentum": 0.85, "max_momentum": 0.95}

def train_defaults() -> dict:
    """The defaults of the `train` block of workflow/schemas/config.schema.yaml (read once; imports yaml)."""
    from ..config.schema import defaults

    return defaults("train")


class TrainSettings(dict):
    """A run's `train` block. A spec built by the run table holds every key (the schema filled them); a key a
    hand-made spec lacks falls back to the schema's default, read only then, so the pipeline path never imports
    yaml. `.get` does not fall back: it is for keys without a default (`steps`)."""

    def __missing__(self, key):
        defaults = train_defaults()
        if key not in defaults:
            raise KeyError(key)
        return defaults[key]


def train_settings(spec: dict) -> TrainSettings:
    return TrainSettings(spec.get("train") or {})


def units_per_step(train: dict, budget_unit: str, context: int | None) -> int:
    """Tokens (batch_size x context) or samples (batch_size) one optimizer step processes."""
    batch = int(train["batch_size"])
    return batch * int(context) if budget_unit == "tokens" else batch


def count_steps(spec: dict, train: dict, context: int | None) -> int:
    """Optimizer steps of a run: `train.steps` when set; else a token budget buys budget // (batch x context) steps
    (whole steps, never more tokens than the budget), and a sample budget ceil(budget x epochs / batch) steps
    (every sample of every epoch is seen; the last batch of the stream wraps into the next epoch)."""
    if train.get("steps"):
        return int(train["steps"])
    batch = int(train["batch_size"])
    if spec["budget_unit"] == "tokens":
        return max(1, int(spec["budget"]) // (batch * int(context)))
    return max(1, math.ceil(int(spec["budget"]) * float(train["epochs"]) / batch))


def eval_steps(steps: int, points: int) -> list[int]:
    """Log-spaced evaluation steps in 1..steps, always including the last."""
    if points <= 1 or steps <= 1:
        return [steps]
    out = {max(1, min(steps, round(math.exp(math.log(steps) * i / (points - 1))))) for i in range(points)}
    out.add(steps)
    return sorted(out)


def effective_lr(train: dict, width: float | None) -> float:
    """The peak learning rate after `lr_width_rule` (inverse: lr x min(1, lr_base_width / width))."""
    lr = float(train["lr"])
    if train["lr_width_rule"] == "inverse":
        if width is None:
            raise ValueError("train.lr_width_rule: inverse needs the model family's width, and this family has none "
                             "(give it a `width(architecture, meta)` hook, see docs/extending.md)")
        lr *= min(1.0, float(train["lr_base_width"]) / float(width))
    return lr


def schedule(train: dict, lr: float, steps: int, s: int) -> tuple[float, float | None]:
    """(lr, beta1 or None) for the update with 0-based index s of `steps`."""
    kind, warmup = train["lr_schedule"], int(train["warmup_steps"])
    if kind == "onecycle":
        return _onecycle(lr, steps, s)
    if s < warmup:
        return lr * (s + 1) / warmup, None
    if kind == "constant":
        return lr, None
    min_lr = lr * float(train["min_lr_ratio"])
    progress = (s - warmup) / max(1, steps - warmup - 1)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (lr - min_lr), None


def _onecycle(lr: float, steps: int, s: int) -> tuple[float, float]:
    """OneCycleLR's learning rate and momentum (beta1) at update s, the same arithmetic as torch's."""
    c = ONECYCLE
    initial = lr / c["div_factor"]
    final = initial / c["final_div_factor"]
    end1 = float(c["pct_start"] * steps) - 1
    end2 = steps - 1

    def anneal(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    if s <= end1:
        pct = s / end1 if end1 > 0 else 1.0
        return anneal(initial, lr, pct), anneal(c["max_momentum"], c["base_momentum"], pct)
    pct = (s - end1) / (end2 - end1) if end2 > end1 else 1.0
    return anneal(lr, final, pct), anneal(c["base_momentum"], c["max_momentum"], pct)
