"""Helpers shared by the dataset generators."""

from __future__ import annotations


def check_sizes(name: str, available: int | None = None, **sizes: int) -> None:
    """Every size is at least 1; with `available` (a fixed corpus), the held-out sizes leave training samples."""
    for key, value in sizes.items():
        if value < 1:
            raise ValueError(f"datasets.{name}.{key} must be at least 1, got {value}")
    if available is not None and sum(sizes.values()) >= available:
        parts = " + ".join(f"{k}={v}" for k, v in sizes.items())
        raise ValueError(f"datasets.{name}: {parts} leaves no training samples out of {available}")


def split_in_order(x, y, n_train: int, n_val: int) -> dict:
    """x/y train, val and test arrays: the first n_train rows, the next n_val, then the rest."""
    bounds = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val), "test": slice(n_train + n_val, None)}
    return {f"{axis}_{split}": array[rows] for split, rows in bounds.items() for axis, array in (("x", x), ("y", y))}
