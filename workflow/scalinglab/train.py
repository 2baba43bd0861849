"""One training run: `run_training(spec, data_dir, out_dir) -> dict`, which writes out_dir/run.json.

Imports only numpy and torch (plus this package's light modules) so that a job starts fast.
Determinism: with the same spec on CPU (1 thread) every metric except the timing fields in TIMING_FIELDS is
bit-identical, including after a SIGKILL and a resume from the last checkpoint: the batch of step s is drawn from a
generator seeded by (seed, s), the learning rate is a pure function of s, and the checkpoint holds the model,
optimizer, RNG states, the step, the curve and the running train-loss sums.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import socket
import sys
import time
from pathlib import Path

from . import atomic

# Metrics that measure time, memory or the job's history rather than the run's result.
TIMING_FIELDS = ("wall_s", "train_s", "throughput", "flops_per_s", "peak_rss_mb", "first_step_s", "resumed_from_step")

EVAL_SEED = 1234  # fixed generator for evaluation windows: identical for every run on a dataset
_ONECYCLE = {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "base_momentum": 0.85, "max_momentum": 0.95}


class InjectedFailure(RuntimeError):
    """Raised on purpose by `train.fail_attempts` (a test hook for retries and on_failure)."""


# ---------------------------------------------------------------------------------------------- small helpers


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), or None."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - start_ticks / ticks)
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


_TRAIN_DEFAULTS: dict | None = None


def train_defaults() -> dict:
    """The defaults of the `train` block of workflow/schemas/config.schema.yaml (read once; imports yaml)."""
    global _TRAIN_DEFAULTS
    if _TRAIN_DEFAULTS is None:
        import yaml

        from . import SCHEMA_PATH

        with open(SCHEMA_PATH) as handle:
            schema = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        properties = schema["$defs"]["train"]["properties"]
        _TRAIN_DEFAULTS = {key: value["default"] for key, value in properties.items() if "default" in value}
    return dict(_TRAIN_DEFAULTS)


class TrainSettings(dict):
    """A run's `train` block. A spec built by `scalinglab.sweep.expand` holds every key (the schema filled them);
    a key a hand-made spec lacks falls back to the schema's default, read only then, so the pipeline path never
    imports yaml. `.get` does not fall back: it is for keys without a default (`steps`)."""

    def __missing__(self, key):
        defaults = train_defaults()
        if key not in defaults:
            raise KeyError(key)
        return defaults[key]


def train_settings(spec: dict) -> TrainSettings:
    return TrainSettings(spec.get("train") or {})


def count_steps(spec: dict, train: dict, context: int | None) -> int:
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


def effective_lr(train: dict, width: int) -> float:
    lr = float(train["lr"])
    if train["lr_width_rule"] == "inverse":
        lr *= min(1.0, float(train["lr_base_width"]) / float(width))
    return lr


def schedule(train: dict, lr: float, steps: int, s: int) -> tuple[float, float | None]:
    """(lr, beta1 or None) for the update with 0-based index s of `steps`."""
    kind, warmup = train["lr_schedule"], int(train["warmup_steps"])
    if kind == "onecycle":  # torch.optim.lr_scheduler.OneCycleLR defaults (cos anneal, momentum cycling)
        c = _ONECYCLE
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
    if s < warmup:
        return lr * (s + 1) / warmup, None
    if kind == "constant":
        return lr, None
    min_lr = lr * float(train["min_lr_ratio"])
    progress = (s - warmup) / max(1, steps - warmup - 1)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (lr - min_lr), None


def pick_device(requested: str):
    import torch

    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device: cuda was requested but torch sees no CUDA device")
        return torch.device("cuda")
    return torch.device("cpu")


# ---------------------------------------------------------------------------------------------- optimizer


class AdamW:
    """AdamW (Loshchilov & Hutter), the same arithmetic as torch.optim.AdamW's foreach path.

    Written out because constructing any torch.optim optimizer imports torch._dynamo (1.3 s per job on these CPUs,
    more than the whole rest of the start-up). Param groups carry lr, betas, eps and weight_decay; state_dict and
    load_state_dict round-trip exactly for checkpoints.
    """

    def __init__(self, groups: list[dict], lr: float, betas: tuple[float, float], eps: float = 1e-8):
        self.param_groups = [{"lr": lr, "betas": tuple(betas), "eps": eps, **g} for g in groups]
        self.param_groups = [{**g, "params": list(g["params"])} for g in self.param_groups if g["params"]]
        self.step_count = 0
        self.state = [
            {"exp_avg": [p.detach().new_zeros(p.shape) for p in g["params"]],
             "exp_avg_sq": [p.detach().new_zeros(p.shape) for p in g["params"]]}
            for g in self.param_groups
        ]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        import torch

        self.step_count += 1
        with torch.no_grad():
            for group, state in zip(self.param_groups, self.state):
                pairs = [(p, m, v) for p, m, v in zip(group["params"], state["exp_avg"], state["exp_avg_sq"])
                         if p.grad is not None]
                if not pairs:
                    continue
                params, exp_avg, exp_avg_sq = (list(t) for t in zip(*pairs))
                grads = [p.grad for p in params]
                lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
                if wd:
                    torch._foreach_mul_(params, 1 - lr * wd)
                torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
                torch._foreach_mul_(exp_avg_sq, beta2)
                torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
                bias_correction1 = 1 - beta1**self.step_count
                bias_correction2 = 1 - beta2**self.step_count
                step_size = lr / bias_correction1
                denom = torch._foreach_sqrt(exp_avg_sq)
                torch._foreach_div_(denom, math.sqrt(bias_correction2))
                torch._foreach_add_(denom, eps)
                torch._foreach_addcdiv_(params, exp_avg, denom, -step_size)

    def state_dict(self) -> dict:
        return {
            "step_count": self.step_count,
            "state": self.state,
            "groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
        }

    def load_state_dict(self, state: dict) -> None:
        self.step_count = state["step_count"]
        for mine, theirs in zip(self.state, state["state"]):
            for key in ("exp_avg", "exp_avg_sq"):
                for target, source in zip(mine[key], theirs[key]):
                    target.copy_(source)
        for group, saved in zip(self.param_groups, state["groups"]):
            group.update(saved)


def clip_grad_norm(params: list, max_norm: float) -> float:
    """torch.nn.utils.clip_grad_norm_ (L2, foreach), without its import-time cost."""
    import torch

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    torch._foreach_mul_(grads, coef)
    return total


# ---------------------------------------------------------------------------------------------- data


class Batches:
    """Training batches as a pure function of (seed, step), and fixed evaluation sets."""

    def __init__(self, spec: dict, arrays: dict, meta: dict, train: dict, resolved: dict, device):
        import torch

        self.torch = torch
        self.device = device
        self.task = meta["task"]
        self.seed = int(spec["seed"])
        self.batch = int(train["batch_size"])
        self.eval_batches = int(train["eval_batches"])
        self.generator = torch.Generator()
        if self.task == "lm":
            self.context = int(resolved["context"])
            self.splits = {k: torch.from_numpy(arrays[k]) for k in ("train", "val", "test")}
            for name, tokens in self.splits.items():
                if len(tokens) <= self.context + 1:
                    raise ValueError(f"the {name} split ({len(tokens)} tokens) is shorter than the context + 1")
            self.offsets = torch.arange(self.context + 1)
        else:
            budget = int(spec["budget"])
            pool = len(arrays["y_train"])
            if budget > pool:
                raise ValueError(
                    f"budget {budget} samples exceeds the training pool of {spec['dataset']} ({pool} samples)"
                )
            # the budget takes the first `budget` samples of the (already shuffled) pool: nested, val/test fixed
            self.x = torch.from_numpy(arrays["x_train"][:budget]).to(device)
            self.y = torch.from_numpy(arrays["y_train"][:budget]).to(device)
            self.eval_sets = {
                split: (
                    torch.from_numpy(arrays[f"x_{split}"]).to(device),
                    torch.from_numpy(arrays[f"y_{split}"]).to(device),
                )
                for split in ("val", "test")
            }
            self._perms: dict[int, object] = {}
        self._lm_eval: dict[str, tuple] = {}

    def _seeded(self, *keys: int):
        value = 0
        for key in keys:
            value = (value * 1_000_003 + key) % (1 << 62)
        return self.generator.manual_seed(value)

    def train_batch(self, step: int):
        torch = self.torch
        if self.task == "lm":
            tokens = self.splits["train"]
            g = self._seeded(self.seed, 1, step)
            starts = torch.randint(0, len(tokens) - self.context - 1, (self.batch,), generator=g)
            window = tokens[starts[:, None] + self.offsets].long()
            window = window.to(self.device)
            return window[:, :-1], window[:, 1:]
        n = len(self.y)
        first = step * self.batch
        chunks, position, have = [], first, 0
        while have < self.batch:  # the sample stream is one permutation per epoch, concatenated
            epoch, offset = divmod(position, n)
            take = min(self.batch - have, n - offset)
            chunks.append(self._perm(epoch)[offset : offset + take])
            position += take
            have += take
        index = torch.cat(chunks) if len(chunks) > 1 else chunks[0]
        index = index.to(self.device)
        return self.x[index], self.y[index]

    def _perm(self, epoch: int):
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = self.torch.randperm(len(self.y), generator=self._seeded(self.seed, 2, epoch))
        return self._perms[epoch]

    def eval_data(self, split: str):
        """List of (x, y) chunks of the fixed evaluation set of `split`."""
        torch = self.torch
        if self.task == "lm":
            if split not in self._lm_eval:
                tokens = self.splits[split]
                g = torch.Generator().manual_seed(EVAL_SEED)
                count = self.eval_batches * self.batch
                starts = torch.randint(0, len(tokens) - self.context - 1, (count,), generator=g)
                windows = tokens[starts[:, None] + self.offsets].long().to(self.device)
                self._lm_eval[split] = [
                    (w[:, :-1], w[:, 1:]) for w in windows.split(self.batch)
                ]
            return self._lm_eval[split]
        if split == "train":  # the run's training samples (up to 10,000): memorisation vs held-out
            x, y = self.x[:10000], self.y[:10000]
        else:
            x, y = self.eval_sets[split]
        return list(zip(x.split(4096), y.split(4096)))


def compute_loss(model, task: str, x, y):
    import torch.nn.functional as F

    if task == "lm":
        logits, loss = model(x, y)
        return logits, loss
    out = model(x)
    if task == "classification":
        return out, F.cross_entropy(out, y)
    return out, F.mse_loss(out, y)


def evaluate(model, batches: Batches, split: str) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) on the fixed evaluation set of `split`."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches.eval_data(split):
            out, _ = compute_loss(model, batches.task, x, y) if batches.task == "lm" else (model(x), None)
            if batches.task == "lm":
                flat_out, flat_y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
            else:
                flat_out, flat_y = out, y
            if batches.task == "regression":
                total += float(F.mse_loss(flat_out, flat_y, reduction="sum")) / flat_y.shape[-1]
            else:
                total += float(F.cross_entropy(flat_out, flat_y, reduction="sum"))
                correct += int((flat_out.argmax(-1) == flat_y).sum())
            count += flat_y.shape[0]
    model.train()
    accuracy = None if batches.task == "regression" else correct / count
    return total / count, accuracy


# ---------------------------------------------------------------------------------------------- checkpoints


def _identity(spec: dict) -> str:
    keep = {k: v for k, v in spec.items() if k not in ("checkpoint_interval_s", "keep_checkpoints", "on_failure")}
    return json.dumps(keep, sort_keys=True, separators=(",", ":"), default=str)


def save_checkpoint(path: Path, state: dict) -> None:
    import torch

    with atomic.replacing(path, fsync=True) as tmp, open(tmp, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(path: Path, spec: dict) -> dict | None:
    import torch

    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a torn or foreign file: start over
        print(f"scalinglab train: ignoring unreadable checkpoint {path}: {error}", file=sys.stderr)
        return None
    if state.get("identity") != _identity(spec):
        print(f"scalinglab train: ignoring checkpoint {path} of a different run spec", file=sys.stderr)
        return None
    return state


# ---------------------------------------------------------------------------------------------- the run


def run_training(spec: dict, data_dir, out_dir, attempt: int = 1) -> dict:
    """Train one run and write out_dir/run.json atomically; returns the run.json dict.

    Raises on errors (the caller decides between failing the job and recording status=failed); a NaN/inf training
    loss is not an error: it stops the run with status "diverged"."""
    wall_start = time.perf_counter()
    out_dir = Path(out_dir)
    train = train_settings(spec)
    if attempt <= int(train["fail_attempts"]):
        raise InjectedFailure(f"injected failure on attempt {attempt} (train.fail_attempts={train['fail_attempts']})")

    import numpy as np
    import torch

    from . import datasets, models
    from .flops import flops_6nd, measure_step_flops

    device = pick_device(spec.get("device", "auto"))
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
        threads = 1
    else:  # CPU kernels with one thread are deterministic already; this call imports torch._inductor (1.5 s)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)

    arrays, meta = datasets.load(data_dir)
    if meta.get("name") != spec["dataset"]:
        raise ValueError(f"{data_dir} holds dataset {meta.get('name')!r}, the run needs {spec['dataset']!r}")
    if "dataset_params" in spec and json.dumps(meta.get("params"), sort_keys=True) != json.dumps(
        datasets.get_spec(spec["dataset"]).params_with_defaults(spec["dataset_params"] or {}), sort_keys=True
    ):
        raise ValueError(f"{data_dir} was prepared with other parameters than the run's dataset_params: re-prepare it")
    unit = meta["unit"]
    if spec.get("budget_unit", unit) != unit:
        raise ValueError(f"budget_unit {spec['budget_unit']!r} does not match the dataset's unit {unit!r}")

    model_name = spec["model"]
    resolved = models.resolve(model_name, spec.get("architecture") or {}, meta)
    n_params, n_params_nonemb = models.count_params(model_name, resolved)
    torch.manual_seed(int(spec["seed"]))
    np.random.seed(int(spec["seed"]) % (1 << 32))
    model = models.build(model_name, resolved).to(device)
    assert model.num_params() == n_params, "closed-form parameter count disagrees with the model"

    batches = Batches(spec, arrays, meta, train, resolved, device)
    steps = count_steps(spec, train, resolved.get("context"))
    per_step_units = int(train["batch_size"]) * (int(resolved["context"]) if unit == "tokens" else 1)
    lr = effective_lr(train, models.width(model_name, resolved))
    evals = eval_steps(steps, int(train["eval_points"]))

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": float(train["weight_decay"])},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    betas = tuple(float(b) for b in train["betas"])
    optimizer = AdamW(groups, lr=lr, betas=betas)
    parameters = list(model.parameters())
    grad_clip = float(train["grad_clip"])

    checkpoint_path = out_dir / "checkpoint.pt"
    interval = float(spec.get("checkpoint_interval_s", 60))
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f".{checkpoint_path.name}.*.tmp"):  # a checkpoint write cut short by a kill
        stale.unlink(missing_ok=True)
    state = load_checkpoint(checkpoint_path, spec)
    step, curve, loss_sum, loss_count, resumed_from = 0, [], 0.0, 0, None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, curve = state["step"], state["curve"]
        loss_sum, loss_count = state["loss_sum"], state["loss_count"]
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        resumed_from = step

    def checkpoint():
        save_checkpoint(
            checkpoint_path,
            {
                "identity": _identity(spec),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "curve": curve,
                "loss_sum": loss_sum,
                "loss_count": loss_count,
                "torch_rng": torch.get_rng_state(),
                "numpy_rng": np.random.get_state(),
            },
        )

    status, diverged_step, first_step_s = "ok", None, None
    train_s = 0.0
    eval_set = set(evals)
    last_checkpoint = time.monotonic()
    model.train()
    current_lr = lr
    while step < steps:
        t0 = time.perf_counter()
        current_lr, beta1 = schedule(train, lr, steps, step)
        for group in optimizer.param_groups:
            group["lr"] = current_lr
            if beta1 is not None:
                group["betas"] = (beta1, group["betas"][1])
        x, y = batches.train_batch(step)
        _, loss = compute_loss(model, batches.task, x, y)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            status, diverged_step = "diverged", step + 1
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            clip_grad_norm(parameters, grad_clip)
        optimizer.step()
        step += 1
        loss_sum += loss_value
        loss_count += 1
        train_s += time.perf_counter() - t0
        if first_step_s is None:
            first_step_s = process_age_s()
        if step in eval_set:
            val_loss, val_acc = evaluate(model, batches, "val")
            row = {
                "step": step,
                unit: step * per_step_units,
                "train_loss": loss_sum / loss_count,
                "val_loss": val_loss,
                "lr": current_lr,
            }
            if val_acc is not None:
                row["val_accuracy"] = val_acc
            curve.append(row)
            loss_sum, loss_count = 0.0, 0
            if not math.isfinite(val_loss):
                status, diverged_step = "diverged", step
                break
        if time.monotonic() - last_checkpoint >= interval and step < steps:
            checkpoint()
            last_checkpoint = time.monotonic()

    # exact FLOPs of one training step, measured on a batch the run used (parameters are not changed)
    def one_step():
        x, y = batches.train_batch(0)
        _, loss = compute_loss(model, batches.task, x, y)
        loss.backward()

    step_flops = measure_step_flops(one_step)
    optimizer.zero_grad(set_to_none=True)
    for row in curve:
        row["flops"] = float(step_flops) * row["step"]

    units_seen = step * per_step_units
    finite_vals = [r["val_loss"] for r in curve if math.isfinite(r["val_loss"])]
    test_loss = test_acc = None
    train_eval_loss = train_acc = None
    if status == "ok":
        test_loss, test_acc = evaluate(model, batches, "test")
        if batches.task != "lm":
            train_eval_loss, train_acc = evaluate(model, batches, "train")
    final = curve[-1] if (curve and status == "ok") else {}
    wall_s = time.perf_counter() - wall_start
    flops = float(step_flops) * step
    metrics = {
        "status": status,
        "n_params": n_params,
        "n_params_nonembedding": n_params_nonemb,
        "flops_6nd": flops_6nd(model_name, resolved, n_params, n_params_nonemb, units_seen),
        "flops": flops,
        "flops_per_step": float(step_flops),
        "steps": step,
        "steps_planned": steps,
        f"{unit}_seen": units_seen,
        "best_val_loss": min(finite_vals) if finite_vals else None,
        "final_val_loss": final.get("val_loss"),
        "val_accuracy": final.get("val_accuracy"),
        "best_val_accuracy": max((r["val_accuracy"] for r in curve if "val_accuracy" in r), default=None),
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "final_train_loss": final.get("train_loss"),
        "train_eval_loss": train_eval_loss,
        "train_accuracy": train_acc,
        "lr_effective": lr,
        "diverged_step": diverged_step,
        "error": None,
        "wall_s": wall_s,
        "train_s": train_s,
        "throughput": units_seen / train_s if train_s > 0 else None,
        "flops_per_s": flops / train_s if train_s > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "first_step_s": first_step_s,
        "resumed_from_step": resumed_from,
    }
    metrics.update({f"resolved_{k}": v for k, v in resolved.items()})
    result = {"spec": spec, "metrics": metrics, "curve": curve, "env": environment(device, threads)}
    atomic.write_json(out_dir / "run.json", result, strict=True)
    if not spec.get("keep_checkpoints", False):
        checkpoint_path.unlink(missing_ok=True)
    return result


def train_with_policy(spec: dict, data_dir, out_dir, *, attempt: int = 1, max_attempts: int = 1,
                      on_failure: str | None = None) -> dict:
    """`run_training` under the workflow's failure policy; returns the run.json dict.

    An error on the last attempt (attempt >= max_attempts) of a run whose on_failure is "record" (the spec's, unless
    `on_failure` overrides it) writes run.json with status "failed" and returns it, so the study goes on without it.
    Any other error propagates: the job fails, and snakemake retries it or stops."""
    try:
        return run_training(spec, data_dir, out_dir, attempt=attempt)
    except Exception as error:
        if attempt >= max_attempts and (on_failure or spec.get("on_failure", "stop")) == "record":
            return failed_result(spec, out_dir, error)
        raise


def environment(device=None, threads=None) -> dict:
    env = {
        "python": platform.python_version(),
        "numpy": None,
        "torch": None,
        "device": str(device) if device is not None else None,
        "threads": threads,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
    }
    try:
        import numpy
        import torch

        env["numpy"], env["torch"] = numpy.__version__, torch.__version__
        if device is not None and getattr(device, "type", None) == "cuda":
            env["cuda_device"] = torch.cuda.get_device_name(device)
    except ImportError:
        pass
    return env


def failed_result(spec: dict, out_dir, error: BaseException | str) -> dict:
    """Write run.json with status "failed" (on_failure: record after the last attempt)."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    metrics = {"status": "failed", "error": message, "diverged_step": None}
    result = {"spec": spec, "metrics": metrics, "curve": [], "env": environment()}
    atomic.write_json(Path(out_dir) / "run.json", result, strict=True)
    return result
