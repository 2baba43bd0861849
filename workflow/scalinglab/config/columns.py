"""The columns of a study's `metrics.parquet`, known before any run: what `fit.x` and `fit.y` may name.

A row is a run's spec flattened (`scalinglab.config.flatten_spec`: `arch_*`, `train_*`, `data_*`, `grid_*`, the
plain keys) and its metrics. The metrics a built-in run writes are the contract of docs/metrics.md (the test suite
checks this list against that page and against a real run). A command sweep's script may write metrics of its own,
unknown until it runs: they are allowed, with a warning.
"""

from __future__ import annotations

# docs/metrics.md, "Metrics": every metric of a built-in run (and `resolved_*`, the architecture it built).
BUILTIN_METRICS = (
    "status", "n_params", "n_params_nonembedding", "flops_6nd", "flops", "flops_per_step", "flops_estimated",
    "steps", "steps_planned", "tokens_seen", "samples_seen", "final_val_loss", "val_accuracy", "test_loss",
    "test_accuracy", "best_val_loss", "best_val_step", "test_loss_at_best_val", "test_accuracy_at_best_val",
    "best_val_accuracy", "val_eval_size", "test_eval_size", "final_train_loss", "initial_train_loss",
    "train_eval_loss", "train_accuracy", "lr_effective", "divergence_rule", "diverged_step", "error", "wall_s",
    "train_s", "throughput", "flops_per_s", "peak_rss_mb", "first_step_s", "resumed_from_step",
)
# What a command run's record holds whatever its script writes (docs/extending.md, the output contract).
COMMAND_METRICS = (
    "status", "n_params", "n_params_nonembedding", "final_val_loss", "flops_6nd", "flops", "flops_estimated",
    "tokens_seen", "samples_seen", "error", "divergence_rule", "diverged_step", "wall_s",
)
# Plain spec keys, one column each.
SPEC_COLUMNS = (
    "run_id", "run_path", "role", "target", "sweep", "trainer", "dataset", "dataset_id", "model", "size_label",
    "seed", "budget", "budget_unit", "compute_budget", "command", "device", "checkpoint_interval_s",
    "keep_checkpoints", "on_failure",
)


def spec_columns(sweep: dict, dataset_params: dict | None) -> set[str]:
    """The columns a sweep's run spec gives every run of it."""
    architecture = set(sweep.get("architecture") or {})
    for size in sweep.get("sizes") or []:
        architecture |= set(size)
    columns = set(SPEC_COLUMNS)
    columns |= {f"arch_{key}" for key in architecture}
    columns |= {f"train_{key}" for key in sweep.get("train") or {}}
    columns |= {f"grid_{key}" for key in sweep.get("grid") or {}}
    columns |= {f"data_{key}" for key in dataset_params or {}}
    return columns


# Metrics a built-in run leaves out, or writes only as null, on data of a kind (docs/metrics.md): the units it does
# not count in, accuracies of a regression, the training-set evaluation of a language model.
ABSENT_BY_UNIT = {"tokens": {"samples_seen"}, "samples": {"tokens_seen"}}
NULL_BY_TASK = {
    "regression": {"val_accuracy", "test_accuracy", "test_accuracy_at_best_val", "best_val_accuracy", "train_accuracy"},
    "lm": {"train_eval_loss", "train_accuracy"},
}


def metric_columns(sweep: dict, unit: str | None = None, task: str | None = None) -> set[str]:
    """The metrics every run of a sweep records: docs/metrics.md's for the built-in trainer (with `resolved_*` of
    the architecture it builds, less what its data's budget `unit` and `task` leave out or null, where known), the
    output contract's for a command (its script may add more)."""
    from ..models import sizes as family_sizes

    if sweep.get("trainer", "builtin") == "command":
        return set(COMMAND_METRICS)
    resolved = {"gpt": family_sizes.GPT_KEYS | {"head_dim"},
                "mlp": family_sizes.MLP_KEYS | {"n_features", "n_outputs"}}.get(sweep.get("model"))
    if resolved is None:  # a user family builds what its architecture says
        resolved = set(sweep.get("architecture") or {}).union(*(set(size) for size in sweep.get("sizes") or []))
    absent = ABSENT_BY_UNIT.get(unit, set()) | NULL_BY_TASK.get(task, set())
    return (set(BUILTIN_METRICS) - absent) | {f"resolved_{key}" for key in resolved if key != "target_params"}
