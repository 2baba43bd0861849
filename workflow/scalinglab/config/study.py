"""What the workflow asks of a validated study: its fitted blocks and their fit settings."""

from __future__ import annotations


def fitted_blocks(config: dict) -> dict[str, dict]:
    """name -> block, for every trained sweep and external entry (each is fitted and reported)."""
    return {block["name"]: block for block in (config.get("sweeps") or []) + (config.get("external") or [])}


def default_y(block: dict | None) -> str:
    """The fitted column when neither the study's nor the sweep's `fit` block names one.

    A sweep of the built-in trainer selects a checkpoint (it keeps the model of its best validation loss), so its
    honest loss is that checkpoint's loss on the test split, `test_loss_at_best_val`; fitting `best_val_loss`, the
    minimum over checkpoints of the validation set itself, would be biased low. A command sweep reports one final
    model, and external data what its CSV holds: `final_val_loss`."""
    trained_by_builtin = block is not None and "model" in block and block.get("trainer", "builtin") == "builtin"
    return "test_loss_at_best_val" if trained_by_builtin else "final_val_loss"


def fit_settings(config: dict, sweep_name: str) -> dict:
    """The fit settings of one sweep: the schema's defaults, the study's `fit` block, the sweep's own `fit` on top,
    and `y` by `default_y` when none of them names it."""
    from .schema import defaults

    block = fitted_blocks(config).get(sweep_name)
    settings = {**defaults("fit"), **(config.get("fit") or {}), **((block or {}).get("fit") or {})}
    settings.setdefault("y", default_y(block))
    return settings


# What the report and the paper figures show and use: the study's definition, not how it was executed (retries,
# on_failure, checkpoints), so changing those redraws nothing.
REPORT_KEYS = ("study", "device", "datasets", "sweeps", "external", "targets", "fit")


def report_config(config: dict) -> dict:
    return {key: config[key] for key in REPORT_KEYS if key in config}
