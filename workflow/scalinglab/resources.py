"""Per-run cluster resources (runtime, memory, GPUs, partition) estimated from the run spec alone.

The Snakefile calls these while it is parsed and while it schedules, so this module must stay cheap to import: no
torch, no numpy. Model sizes are resolved by the torch-free `scalinglab.models` registry (the arithmetic training
uses), before the dataset exists: the vocabulary and input shapes come from the dataset registry
(`scalinglab.datasets.DatasetSpec.shape`), and the train settings default to the schema's.

Site settings are environment variables, read when the workflow is parsed (documented in docs/slurm.md):

    SCALINGLAB_SLURM_ACCOUNT        sbatch -A for every job (the profile passes it as slurm_account)
    SCALINGLAB_SLURM_PARTITION      sbatch -p for every job (slurm_partition)
    SCALINGLAB_SLURM_GPU_PARTITION  sbatch -p for train jobs that request GPUs (default: SCALINGLAB_SLURM_PARTITION)
    SCALINGLAB_SLURM_GPUS           GPUs per train job when the study says `device: auto` (default 0: CPU jobs);
                                    `device: cuda` always requests at least 1, `device: cpu` never requests any
    SCALINGLAB_SLURM_GPU_MODEL      optional GPU model, e.g. a100 (sbatch --gpus=a100:N)
    SCALINGLAB_SLURM_EXTRA          extra sbatch arguments for every job, verbatim (e.g. "--qos=short")
"""

from __future__ import annotations

import json
import math
import os
from functools import cache

from . import models
from .config import canonical_json
from .datasets import get_spec
from .flops import estimated_flops
from .trainers.settings import count_steps, train_settings, units_per_step

# Throughput assumed for a runtime request. fp32 on one CPU thread reaches 10-60% of ~170 GFLOP/s at these model
# sizes, and small models are bound by ~1-5 ms of dispatch per optimizer step (docs/cpu-sizing.md:
# GPT d16 takes 9 s and d128 66 s per 2M tokens). 20 GFLOP/s and 5 ms per step are deliberately pessimistic.
CPU_FLOPS_PER_S = 2e10
GPU_FLOPS_PER_S = 2e12
SECONDS_PER_STEP = 5e-3
STARTUP_S = 60.0  # interpreter, torch import, data loading, final evaluation, checkpoints
SAFETY = 3.0  # requested time / estimated time
MIN_RUNTIME_MIN = 5
BASE_MEM_MB = 1500  # python + torch + the dataset (the default study's jobs peak at 0.4-0.9 GB)
MIN_MEM_MB = 2000
# Requests of a run whose size is unknown before it runs (a command sweep without `resources`, a user family without
# a `count_params` hook, data whose shapes are known once prepared): generous, and the sweep's `resources` replace them.
UNKNOWN_RUNTIME_MIN = 60
UNKNOWN_MEM_MB = 4000

ENV_PREFIX = "SCALINGLAB_SLURM_"


def site(environ=None) -> dict:
    """The site settings from the environment (see the module docstring); unset or empty means not given."""
    environ = os.environ if environ is None else environ

    def get(name):
        value = environ.get(ENV_PREFIX + name, "").strip()
        return value or None

    gpus = get("GPUS")
    try:
        gpus = int(gpus) if gpus is not None else 0
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}GPUS must be a whole number of GPUs per job, not {gpus!r}") from None
    if gpus < 0:
        raise ValueError(f"{ENV_PREFIX}GPUS must be >= 0, not {gpus}")
    return {
        "account": get("ACCOUNT"),
        "partition": get("PARTITION"),
        "gpu_partition": get("GPU_PARTITION"),
        "gpus": gpus,
        "gpu_model": get("GPU_MODEL"),
        "extra": get("EXTRA"),
    }


_SHAPES: dict = {}  # (dataset, dataset_id) -> (the model-sizing keys of its meta.json, their canonical JSON)


def _shape_meta(spec: dict) -> tuple[dict | None, str]:
    key = (spec["dataset"], spec["dataset_id"])
    if key not in _SHAPES:  # the dataset_id names its parameters: read them once per dataset
        params = spec.get("dataset_params") or {}
        meta = get_spec(spec["dataset"], params).shape_meta(params)
        _SHAPES[key] = (meta, canonical_json(meta))
    return _SHAPES[key]


@cache
def _sizing(model: str, architecture: str, meta: str) -> tuple[dict, tuple[int, int] | None]:
    """(resolved architecture, (n_params, n_params_nonembedding) or None), once per distinct size."""
    meta = json.loads(meta)
    resolved = models.resolve(model, json.loads(architecture), meta)
    return resolved, models.count_params(model, resolved, meta)


def sizing(spec: dict) -> tuple[dict | None, tuple[int, int] | None]:
    """(the run's architecture as training resolves it, its parameter counts), with the registry's shapes standing
    in for the data's; (None, None) where unknown before the run: a command's model, data whose shapes are known
    once prepared; counts None for a user family without a `count_params` hook."""
    if spec.get("model") is None or spec.get("dataset") is None:
        return None, None
    meta, meta_json = _shape_meta(spec)
    if meta is None:
        return None, None
    resolved, counts = _sizing(spec["model"], canonical_json(spec["architecture"] or {}), meta_json)
    return dict(resolved), counts


def resolved_architecture(spec: dict) -> dict | None:
    """The run's architecture as training resolves it (`sizing`), or None where unknown before the run."""
    return sizing(spec)[0]


def estimate_params(spec: dict) -> tuple[int, int] | None:
    """(n_params, n_params_nonembedding) of the run's model before its dataset is prepared: the built-in families'
    closed form, a user family's `count_params` hook; None where unknown (a command, a user family without the hook,
    data whose shapes are known once prepared)."""
    return sizing(spec)[1]


def training_units(spec: dict, resolved: dict | None = None) -> tuple[int, int]:
    """(units processed, optimizer steps): tokens for a language model, samples otherwise, counted as training
    counts them (`scalinglab.trainers.settings.count_steps`)."""
    train = train_settings(spec)
    context = (resolved if resolved is not None else resolved_architecture(spec) or {}).get("context")
    steps = count_steps(spec, train, context)
    return steps * units_per_step(train, spec["budget_unit"], context), steps


def estimate_flops(spec: dict) -> float | None:
    """Training FLOPs as training will measure them (`scalinglab.flops.estimated_flops`); None where the model's
    size is unknown before the run."""
    resolved, counts = sizing(spec)
    if counts is None:
        return None
    units, _ = training_units(spec, resolved)
    return estimated_flops(spec["model"], resolved, *counts, units)


def stated(spec: dict, key: str):
    """The sweep's own request for `key` (its `resources` block), or None."""
    return (spec.get("resources") or {}).get(key)


def gpus(spec: dict, environ=None) -> int:
    """GPUs one train job requests: the sweep's `resources.gpus` when it states them; else site GPUS for device
    auto, at least 1 for device cuda, none for cpu."""
    if stated(spec, "gpus") is not None:
        return int(stated(spec, "gpus"))
    device = spec.get("device", "auto")
    if device == "cpu" or spec.get("trainer") == "command":
        return 0
    count = site(environ)["gpus"]
    return max(1, count) if device == "cuda" else count


def estimated_seconds(spec: dict, environ=None) -> float | None:
    """The run's wall time at the assumed throughput (CPU_FLOPS_PER_S, or GPU_FLOPS_PER_S when it gets a GPU);
    None where its size is unknown before the run."""
    resolved, counts = sizing(spec)
    if counts is None:
        return None
    units, steps = training_units(spec, resolved)
    flops = estimated_flops(spec["model"], resolved, *counts, units)
    train = train_settings(spec)
    evals = int(train["eval_points"]) * int(train["eval_batches"])
    rate = GPU_FLOPS_PER_S if gpus(spec, environ) else CPU_FLOPS_PER_S
    return STARTUP_S + (flops * 1.1) / rate + (steps + evals) * SECONDS_PER_STEP


def estimated_seconds_of_runs(specs: list[dict]) -> dict[str, float | None]:
    """run path -> `estimated_seconds` (None where unknown before the run, or for a size that does not resolve),
    estimated once per (sweep, size, budget, grid): seeds train the same model on as much data, and a run path is
    that cell's path followed by /seedN."""
    cells, seconds = {}, {}
    for spec in specs:
        cell = spec["run_path"].rsplit("/", 1)[0]
        if cell not in cells:
            try:
                cells[cell] = estimated_seconds(spec)
            except (ValueError, KeyError):
                cells[cell] = None  # a size that does not resolve: refused by the study's checks
        seconds[spec["run_path"]] = cells[cell]
    return seconds


def runtime_minutes(spec: dict, attempt: int = 1, environ=None) -> int:
    """Wall-time request (sbatch -t, minutes), times the attempt number: the sweep's `resources.runtime`, else the
    estimate times SAFETY, else (a size unknown before the run) UNKNOWN_RUNTIME_MIN."""
    if stated(spec, "runtime") is not None:
        minutes = math.ceil(float(stated(spec, "runtime")))
    else:
        seconds = estimated_seconds(spec, environ)
        minutes = UNKNOWN_RUNTIME_MIN if seconds is None else max(MIN_RUNTIME_MIN, math.ceil(SAFETY * seconds / 60))
    return int(minutes * max(1, int(attempt)))


def mem_mb(spec: dict, attempt: int = 1) -> int:
    """Memory request (sbatch --mem, MB), 1.5x per retry: the sweep's `resources.mem_mb`, else base + weights,
    gradients and AdamW moments + activations, else (a size unknown before the run) UNKNOWN_MEM_MB."""
    factor = 1 + 0.5 * (max(1, int(attempt)) - 1)
    if stated(spec, "mem_mb") is not None:
        return math.ceil(int(stated(spec, "mem_mb")) * factor)
    g, counts = sizing(spec)
    if counts is None:
        return int(math.ceil(UNKNOWN_MEM_MB * factor / 100) * 100)
    batch = int(train_settings(spec)["batch_size"])
    if spec["model"] == "gpt":
        tokens = batch * g["context"]
        # fp32 activations kept for the backward pass, after Korthikanti et al. 2022 (34 d + 5 h T per token, in
        # 16-bit bytes; doubled here for fp32), plus the logits
        per_layer = tokens * (34 * g["d_model"] + 5 * g["n_head"] * g["context"])
        activations = 2 * g["n_layer"] * per_layer + 3 * 4 * tokens * g["vocab_size"]
    elif spec["model"] == "mlp":
        activations = 4 * batch * (3 * g["width"] * (g["depth"] + 1) + g["n_features"])
    else:
        activations = 4 * batch * 3 * counts[0] ** 0.5 * 4  # a user family: layers of about sqrt(N) units
    state = 16 * counts[0]  # fp32 weights, gradients, two AdamW moments
    estimate = BASE_MEM_MB + 2 * (state + activations) / 1e6
    return int(math.ceil(max(MIN_MEM_MB, estimate) * factor / 100) * 100)


def partition(spec: dict, environ=None) -> str:
    """The partition of a train job: the GPU partition when it requests GPUs, else the site's ("" = cluster default)."""
    settings = site(environ)
    if gpus(spec, environ):
        return settings["gpu_partition"] or settings["partition"] or ""
    return settings["partition"] or ""


def gpu_model(spec: dict, environ=None) -> str:
    return (site(environ)["gpu_model"] or "") if gpus(spec, environ) else ""


def summary(spec: dict, attempt: int = 1, environ=None) -> dict:
    """Everything a train job requests, for `docs/slurm.md`'s table and for tests."""
    return {
        "runtime": runtime_minutes(spec, attempt, environ),
        "mem_mb": mem_mb(spec, attempt),
        "gpu": gpus(spec, environ),
        "slurm_partition": partition(spec, environ),
        "gpu_model": gpu_model(spec, environ),
        "estimated_flops": estimate_flops(spec),
        "estimated_params": (estimate_params(spec) or (None,))[0],
    }
