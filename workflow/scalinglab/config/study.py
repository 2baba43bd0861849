"""What the workflow asks of a validated study: its fitted blocks and their fit settings."""

from __future__ import annotations


def fitted_blocks(config: dict) -> dict[str, dict]:
    """name -> block, for every trained sweep and external entry (each is fitted and reported)."""
    return {block["name"]: block for block in (config.get("sweeps") or []) + (config.get("external") or [])}


def fit_settings(config: dict, sweep_name: str) -> dict:
    """The fit settings of one sweep: the schema's defaults, the study's `fit` block, the sweep's own `fit` on top."""
    from .schema import defaults

    block = fitted_blocks(config).get(sweep_name, {})
    return {**defaults("fit"), **(config.get("fit") or {}), **(block.get("fit") or {})}
