"""Collect every run.json into two tables: one row per run (metrics) and one per evaluation (curves)."""

from __future__ import annotations

import json
from pathlib import Path

from . import atomic
from .config import flatten_spec, with_neutral_values

# Columns that identify a run in the curves table, so it can be plotted without a join.
CURVE_KEYS = ("run_id", "sweep", "dataset", "model", "size_label", "seed", "budget")


def metrics_row(record: dict) -> dict:
    row = flatten_spec(with_neutral_values(record["spec"]))  # records of older specs lack their newer keys
    row.update(record["metrics"])
    row.update({f"env_{key}": value for key, value in record.get("env", {}).items()})
    return row


def curve_rows(record: dict) -> list[dict]:
    keys = {key: record["spec"][key] for key in CURVE_KEYS}
    return [{**keys, **point} for point in record.get("curve", [])]


def read_run(path: str | Path) -> dict:
    with open(path) as handle:
        record = json.load(handle)
    missing = {"spec", "metrics"} - set(record)
    if missing:
        raise ValueError(f"{path}: run record lacks {', '.join(sorted(missing))}")
    return record


def build_tables(run_paths: list[str | Path]):
    import pandas as pd

    records = [read_run(path) for path in run_paths]
    metrics = pd.DataFrame([metrics_row(record) for record in records])
    curves = pd.DataFrame([row for record in records for row in curve_rows(record)])
    if curves.empty:
        curves = pd.DataFrame(columns=list(CURVE_KEYS))
    return metrics, curves


def write_parquet(frame, path: str | Path) -> None:
    with atomic.replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


def aggregate_runs(run_paths, metrics_path, curves_path) -> str:
    """Write the metrics and curves tables of these run.json files; returns a one-line summary."""
    metrics, curves = build_tables(run_paths)
    write_parquet(metrics, metrics_path)
    write_parquet(curves, curves_path)
    counts = metrics["status"].value_counts().to_dict() if "status" in metrics else {}
    return f"aggregated {len(metrics)} runs ({counts}) and {len(curves)} curve points"
