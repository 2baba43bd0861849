"""The built-in trainer: one run of a model family on a prepared dataset, written to out_dir/run.json.

    run_training(spec, data_dir, out_dir) = setup -> resume -> train_loop -> final_evaluation -> write_result

Imports only numpy and torch (plus this package's light modules) so that a job starts fast.
Evaluations: log-spaced in steps (a row of the curve each); the last one, and the test evaluation, cover the whole
split (data.py). The run keeps the model of its best validation loss and reports its test loss next to the final
model's (`test_loss_at_best_val`). Divergence is a rule on the losses (divergence.py).
Determinism: with the same spec on CPU (1 thread) every metric except the timing fields in `record.TIMING_FIELDS`
is bit-identical, including after a SIGKILL and a resume from the last checkpoint: the batch of step s is drawn from
a generator seeded by (seed, s), the learning rate is a pure function of s, and the checkpoint holds the model,
optimizer, RNG states and the loop's `Progress`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..config import canonical_json
from . import checkpoint, divergence, hooks, optim, record
from .data import Batches
from .device import configure_device
from .model import build_model, check_output
from .settings import count_steps, effective_lr, eval_steps, schedule, train_settings, units_per_step

SYNC_EVERY = 32  # training steps between two reads of their losses from the device (a host sync on a GPU)


@dataclass
class Setup:
    """Everything a run needs that does not change while it trains."""

    spec: dict
    train: dict
    out_dir: Path
    device: object
    threads: int
    meta: dict
    unit: str  # "tokens" or "samples"
    resolved: dict  # the architecture actually built
    n_params: int
    n_params_nonembedding: int
    model: object
    batches: Batches
    steps: int
    per_step_units: int
    lr: float  # peak learning rate after lr_width_rule
    evals: set[int]
    optimizer: object
    identity: str  # checkpoint identity: the run's and the optimizer implementation's
    constant_loss: float  # loss of a constant prediction, for the divergence rule


@dataclass
class Progress:
    """The loop's state: what a checkpoint saves besides the model, the optimizer and the RNGs."""

    step: int = 0
    curve: list = field(default_factory=list)
    loss_sum: float = 0.0  # training loss summed since the last evaluation
    loss_count: int = 0
    status: str = "ok"
    diverged_step: int | None = None
    divergence_rule: str | None = None
    initial_loss: float | None = None  # the first training batch's loss, before any update
    strikes: int = 0  # consecutive evaluations above the divergence threshold
    best_val_loss: float = math.inf
    best_val_step: int | None = None
    best_model: dict | None = None  # a copy of the model's state at best_val_step (None while it is the current one)
    train_s: float = 0.0  # time inside training steps (this attempt only)
    first_step_s: float | None = None
    resumed_from_step: int | None = None

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def diverge(self, rule: str, step: int) -> None:
        self.status, self.divergence_rule, self.diverged_step = "diverged", rule, step


def run_training(spec: dict, data_dir, out_dir, attempt: int = 1) -> dict:
    """Train one run and write out_dir/run.json atomically; returns the run.json dict.

    Raises on errors (the caller applies the retry and on_failure policy); a diverging loss is not an error: it stops
    the run with status "diverged"."""
    started_at, wall_start = record.utc_now(), time.perf_counter()
    run = setup(spec, data_dir, out_dir)
    progress = resume(run)
    train_loop(run, progress)
    final = final_evaluation(run, progress)
    return write_result(run, progress, final, started_at, time.perf_counter() - wall_start)


# ---------------------------------------------------------------------------------------------------- setup


def load_data(spec: dict, data_dir) -> tuple[dict, dict]:
    """(arrays, meta) of the prepared dataset, checked against the run's dataset, parameters and unit."""
    from .. import datasets

    arrays, meta = datasets.load(data_dir)
    if meta.get("name") != spec["dataset"]:
        raise ValueError(f"{data_dir} holds dataset {meta.get('name')!r}, the run needs {spec['dataset']!r}")
    if "dataset_params" in spec and canonical_json(meta.get("params")) != canonical_json(
        datasets.get_spec(spec["dataset"], spec["dataset_params"]).params_with_defaults(spec["dataset_params"] or {})
    ):
        raise ValueError(f"{data_dir} was prepared with other parameters than the run's dataset_params: re-prepare it")
    if spec.get("budget_unit", meta["unit"]) != meta["unit"]:
        raise ValueError(f"budget_unit {spec['budget_unit']!r} does not match the dataset's unit {meta['unit']!r}")
    return arrays, meta


def setup(spec: dict, data_dir, out_dir) -> Setup:
    """A run before its first step: device, data, model (checked against the task), batches, plan, optimizer."""
    from .. import models

    train = train_settings(spec)
    device, threads = configure_device(spec.get("device", "auto"), strict=spec["model"] in models.BUILTIN)
    arrays, meta = load_data(spec, data_dir)
    constant_loss = divergence.constant_prediction_loss(meta, arrays)
    model, family, resolved, n_params, n_params_nonembedding = build_model(spec, meta, device)
    context = resolved.get("context")
    batches = Batches(spec, arrays, meta, train, context, device)
    check_output(model, family, batches, meta)
    steps = count_steps(spec, train, context)
    lr = effective_lr(train, family.width(resolved, meta))
    optimizer = optim.make_optimizer(model, lr, tuple(float(b) for b in train["betas"]), float(train["weight_decay"]))
    return Setup(
        spec=spec, train=train, out_dir=Path(out_dir), device=device, threads=threads, meta=meta,
        unit=meta["unit"], resolved=resolved, n_params=n_params, n_params_nonembedding=n_params_nonembedding,
        model=model, batches=batches, steps=steps,
        per_step_units=units_per_step(train, meta["unit"], context), lr=lr,
        evals=set(eval_steps(steps, int(train["eval_points"]))), optimizer=optimizer,
        identity=checkpoint.identity(spec, optim.implementation()), constant_loss=constant_loss,
    )


# ---------------------------------------------------------------------------------------------------- resume


def resume(run: Setup) -> Progress:
    """The progress saved by an earlier attempt of this run (model, optimizer and RNGs restored), or a fresh start."""
    import numpy as np
    import torch

    run.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.remove_torn_writes(run.out_dir)
    state = checkpoint.load(run.out_dir / checkpoint.NAME, run.identity)
    if state is None:
        return Progress()
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    if state.get("cuda_rng") is not None and run.device.type == "cuda":  # a user model's dropout on the GPU
        torch.cuda.set_rng_state(state["cuda_rng"], run.device)
    progress = Progress(**state["progress"])
    progress.train_s, progress.first_step_s = 0.0, None  # timings of this attempt
    progress.resumed_from_step = progress.step
    return progress


def save_checkpoint(run: Setup, progress: Progress) -> None:
    import numpy as np
    import torch

    checkpoint.save(run.out_dir / checkpoint.NAME, {
        "identity": run.identity,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),
        "cuda_rng": torch.cuda.get_rng_state(run.device) if run.device.type == "cuda" else None,
        "progress": progress.as_dict(),
    })


# ---------------------------------------------------------------------------------------------------- the loop


def compute_loss(model, task: str, x, y):
    """(output, mean loss) of a batch: cross-entropy for lm and classification, mean squared error for regression."""
    import torch.nn.functional as F

    out = model(x)
    if task == "lm":  # out (B, T, V), y (B, T)
        return out, F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    if task == "classification":
        return out, F.cross_entropy(out, y)
    return out, F.mse_loss(out, y)


def train_step(run: Setup, s: int):
    """One optimizer update with 0-based index s; returns the batch's loss before the update, a tensor on the device
    (read with the next `settle_losses`, so that a GPU is not synchronised every step)."""
    lr, beta1 = schedule(run.train, run.lr, run.steps, s)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
        if beta1 is not None:
            group["betas"] = (beta1, group["betas"][1])
    x, y = run.batches.train_batch(s)
    _, loss = compute_loss(run.model, run.batches.task, x, y)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_clip = float(run.train["grad_clip"])
    if grad_clip > 0:
        run.optimizer.clip_grad_norm(grad_clip)
    run.optimizer.step()
    return loss.detach()


def settle_losses(progress: Progress, pending: list) -> None:
    """Read the losses of the steps since the last call (one host sync) into the running sums; at the first that is
    not finite, the run diverged at that step: it stops there, and the updates after it go with the run."""
    import torch

    if not pending:
        return
    first = progress.step - len(pending)  # steps completed before these
    for i, value in enumerate(torch.stack(pending).tolist()):
        if not math.isfinite(value):
            progress.step = first + i
            progress.diverge(divergence.NONFINITE, first + i + 1)
            break
        if progress.initial_loss is None:
            progress.initial_loss = value
        progress.loss_sum += value
        progress.loss_count += 1
    pending.clear()


def evaluate_into_curve(run: Setup, progress: Progress) -> tuple[float, float]:
    """Validation loss at the current step (the whole split at the last step), appended to the curve with the mean
    training loss since the previous evaluation. Returns (that loss, the loss the best checkpoint is chosen by): a
    language model's last step is also scored on the fixed subset of the other evaluations, so that the choice
    compares like with like (the subset's estimate of the loss differs from the whole split's by about 0.5%)."""
    last = progress.step == run.steps
    val_loss, val_accuracy = evaluate(run.model, run.batches, "val", whole=last)
    selection_loss = evaluate(run.model, run.batches, "val")[0] if last and run.batches.task == "lm" else val_loss
    row = {
        "step": progress.step,
        run.unit: progress.step * run.per_step_units,
        "train_loss": progress.loss_sum / progress.loss_count,
        "val_loss": val_loss,
        "lr": run.optimizer.param_groups[0]["lr"],
    }
    if val_accuracy is not None:
        row["val_accuracy"] = val_accuracy
    progress.curve.append(row)
    progress.loss_sum, progress.loss_count = 0.0, 0
    return val_loss, selection_loss


def keep_if_best(run: Setup, progress: Progress, val_loss: float) -> None:
    """Remember the model of the lowest validation loss so far (the last evaluation's model is the live one)."""
    if not val_loss < progress.best_val_loss:
        return
    progress.best_val_loss, progress.best_val_step = val_loss, progress.step
    if progress.step == run.steps:
        progress.best_model = None  # the final model itself
    else:
        progress.best_model = {k: v.detach().clone() for k, v in run.model.state_dict().items()}


def check_divergence(run: Setup, progress: Progress, val_loss: float) -> None:
    """Apply the divergence rules (divergence.py) to this evaluation."""
    if not math.isfinite(val_loss):
        progress.diverge(divergence.NONFINITE, progress.step)
        return
    limit = divergence.threshold(run.constant_loss, progress.initial_loss)
    progress.strikes = divergence.strikes_after(val_loss, limit, progress.strikes)
    if divergence.fired(progress.strikes, last_evaluation=progress.step == run.steps):
        progress.diverge(divergence.ABOVE_INITIAL, progress.step)


def train_loop(run: Setup, progress: Progress) -> None:
    """Steps until the plan is done or the run diverges; evaluations and timed checkpoints on the way.

    The steps' losses are read from the device every SYNC_EVERY steps, at evaluations, before checkpoints and after
    the first step, not after each step: the sums and the divergence step are the same, and a GPU runs ahead."""
    interval = float(run.spec.get("checkpoint_interval_s", 60))
    kill_step = hooks.kill_step()
    last_checkpoint = time.monotonic()
    pending: list = []
    run.model.train()
    stretch = time.perf_counter()
    while progress.step < run.steps and progress.status == "ok":
        pending.append(train_step(run, progress.step))
        progress.step += 1
        evaluation = progress.step in run.evals
        checkpoint_due = progress.step == kill_step or (
            time.monotonic() - last_checkpoint >= interval and progress.step < run.steps)
        settle = evaluation or checkpoint_due or len(pending) >= SYNC_EVERY or progress.step == run.steps
        if not (settle or progress.first_step_s is None):
            continue
        settle_losses(progress, pending)
        progress.train_s += time.perf_counter() - stretch
        if progress.first_step_s is None:
            progress.first_step_s = record.process_age_s()
        if progress.status != "ok":
            break
        if evaluation:
            val_loss, selection_loss = evaluate_into_curve(run, progress)
            check_divergence(run, progress, val_loss)
            if progress.status == "ok":
                keep_if_best(run, progress, selection_loss)
        if progress.step == kill_step:
            save_checkpoint(run, progress)
            hooks.kill_now()
        if checkpoint_due and progress.status == "ok":
            save_checkpoint(run, progress)
            last_checkpoint = time.monotonic()
        stretch = time.perf_counter()


# ---------------------------------------------------------------------------------------------------- final evaluation


def evaluate(model, batches: Batches, split: str, whole: bool = False) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) on the evaluation set of `split` (whole: every token of a language model's split;
    other tasks always evaluate the whole split)."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=batches.device)  # summed on the device: one sync at the end
    correct = torch.zeros((), dtype=torch.int64, device=batches.device)
    count = 0
    with torch.inference_mode():
        for x, y in batches.eval_data(split, whole=whole):
            out = model(x)
            flat_out, flat_y = (out.reshape(-1, out.shape[-1]), y.reshape(-1)) if batches.task == "lm" else (out, y)
            if batches.task == "regression":
                total += F.mse_loss(flat_out, flat_y, reduction="sum").double() / flat_y.shape[-1]
            else:
                total += F.cross_entropy(flat_out, flat_y, reduction="sum").double()
                correct += (flat_out.argmax(-1) == flat_y).sum()
            count += flat_y.shape[0]
    model.train()
    accuracy = None if batches.task == "regression" else int(correct) / count
    return float(total) / count, accuracy


def measure_flops_per_step(run: Setup) -> int:
    """Exact FLOPs of one training step, counted on a batch the run used (the parameters are not changed)."""
    from ..flops import measure_step_flops

    def one_step():
        x, y = run.batches.train_batch(0)
        _, loss = compute_loss(run.model, run.batches.task, x, y)
        loss.backward()

    flops = measure_step_flops(one_step)
    run.optimizer.zero_grad(set_to_none=True)
    return flops


def final_evaluation(run: Setup, progress: Progress) -> dict:
    """The FLOP count; for a run that finished: the test split (whole) for the final model and for the model of the
    best validation loss, and, for sample tasks, the final model on its training samples."""
    final = {"flops_per_step": measure_flops_per_step(run)}
    if progress.status != "ok":
        return final
    final["test_loss"], final["test_accuracy"] = evaluate(run.model, run.batches, "test", whole=True)
    final["val_eval_size"] = run.batches.eval_size("val", whole=True)
    final["test_eval_size"] = run.batches.eval_size("test", whole=True)
    if run.batches.task != "lm":
        final["train_eval_loss"], final["train_accuracy"] = evaluate(run.model, run.batches, "train")
    if progress.best_model is None:  # the final model is the best one
        final["test_loss_at_best_val"], final["test_accuracy_at_best_val"] = final["test_loss"], final["test_accuracy"]
    else:
        run.model.load_state_dict(progress.best_model)
        final["test_loss_at_best_val"], final["test_accuracy_at_best_val"] = evaluate(
            run.model, run.batches, "test", whole=True)
    return final


# ---------------------------------------------------------------------------------------------------- the result


def write_result(run: Setup, progress: Progress, final: dict, started_at: str, wall_s: float) -> dict:
    """Metrics from the loop and the final evaluation; writes run.json, removes the checkpoint unless kept."""
    from ..flops import flops_6nd

    step_flops = float(final.pop("flops_per_step"))
    for row in progress.curve:
        row["flops"] = step_flops * row["step"]
    units_seen = progress.step * run.per_step_units
    flops = step_flops * progress.step
    attempt_steps = progress.step - (progress.resumed_from_step or 0)  # train_s times this attempt's steps only
    rate = attempt_steps / progress.train_s if progress.train_s > 0 else None
    last = progress.curve[-1] if (progress.curve and progress.status == "ok") else {}
    metrics = {
        "status": progress.status,
        "n_params": run.n_params,
        "n_params_nonembedding": run.n_params_nonembedding,
        "flops_6nd": flops_6nd(run.spec["model"], run.resolved, run.n_params, run.n_params_nonembedding, units_seen),
        "flops": flops,
        "flops_per_step": step_flops,
        "steps": progress.step,
        "steps_planned": run.steps,
        f"{run.unit}_seen": units_seen,
        "final_val_loss": last.get("val_loss"),
        "val_accuracy": last.get("val_accuracy"),
        "best_val_loss": progress.best_val_loss if progress.best_val_step is not None else None,
        "best_val_step": progress.best_val_step,
        "best_val_accuracy": max((r["val_accuracy"] for r in progress.curve if "val_accuracy" in r), default=None),
        "test_loss": final.get("test_loss"),
        "test_accuracy": final.get("test_accuracy"),
        "test_loss_at_best_val": final.get("test_loss_at_best_val"),
        "test_accuracy_at_best_val": final.get("test_accuracy_at_best_val"),
        "val_eval_size": final.get("val_eval_size"),
        "test_eval_size": final.get("test_eval_size"),
        "final_train_loss": last.get("train_loss"),
        "initial_train_loss": progress.initial_loss,
        "train_eval_loss": final.get("train_eval_loss"),
        "train_accuracy": final.get("train_accuracy"),
        "lr_effective": run.lr,
        "divergence_rule": progress.divergence_rule,
        "diverged_step": progress.diverged_step,
        "error": None,
        "wall_s": wall_s,
        "train_s": progress.train_s,
        "throughput": None if rate is None else rate * run.per_step_units,
        "flops_per_s": None if rate is None else rate * step_flops,
        "peak_rss_mb": record.peak_rss_mb(),
        "first_step_s": progress.first_step_s,
        "resumed_from_step": progress.resumed_from_step,
    }
    metrics.update({f"resolved_{k}": v for k, v in run.resolved.items() if isinstance(v, (bool, int, float, str))})
    result = record.write(run.out_dir, run.spec, metrics, progress.curve, record.environment(run.device, run.threads),
                          started_at)
    if not run.spec.get("keep_checkpoints", False):
        (run.out_dir / checkpoint.NAME).unlink(missing_ok=True)
    return result
