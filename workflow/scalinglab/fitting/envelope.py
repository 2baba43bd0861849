"""The envelope over hyperparameter grids: per (size, budget) cell, the grid value with the best mean y over seeds.

A sweep with `grid: {lr: [...]}` trains every value at every (size, budget, seed); its runs carry a `grid_lr` column.
A scaling law describes the best a size can do, so fits use, per cell, the runs of the value that won (Porian et al.
2024: an untuned learning rate per size moves the fitted exponents). The winner is the value whose runs all finished
(status ok, y finite and > 0) with the lowest mean y over seeds; a value with a failed or diverged seed ranks after
every value whose seeds all finished. A cell whose winner is the smallest or largest value of a grid key is *at the
edge*: the best value may lie outside the grid, and that size's loss is an upper bound on what it can reach.

`envelope(table, y, columns)` is the one place this is computed: `fit()` (and so `scalinglab fit --envelope`), the
report's grid figure and a target's grid choice all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import table as tbl
from .errors import FitInputError

PREFIX = "grid_"  # the column of grid key K is grid_K (scalinglab.config's flatten_spec)
CELL_COLUMNS = ("sweep", "size_label", "budget")  # a trained run's cell, where these columns exist
RULE = ("per cell, the grid value whose runs all finished with the lowest mean y over seeds (a value with a failed "
        "or diverged seed ranks after every value whose seeds all finished)")


@dataclass
class Envelope:
    keep: np.ndarray  # (rows,) bool: the rows of each cell's winning value
    record: dict  # what the fit JSON keeps under `envelope` (docs/fit-json.md)


def grid_columns(table, requested="auto") -> list[str]:
    """The grid columns an envelope is taken over. 'auto' (the default): every grid_* column with more than one
    value; 'none' or '' or []: none; else the columns named (comma-separated text or a list), each checked."""
    if requested in (None, "none", "", []):
        return []
    if requested == "auto":
        return [c for c in table.columns if c.startswith(PREFIX) and len(_distinct(table.text(c))) > 1]
    names = [c.strip() for c in requested.split(",")] if isinstance(requested, str) else list(requested)
    for name in names:
        if name not in table:
            grids = [c for c in table.columns if c.startswith(PREFIX)]
            raise FitInputError(f"--envelope: no column {name!r}; the table's grid columns are "
                                f"{', '.join(grids) or 'none'} (a grid key K is the column grid_K)")
    return names


def _distinct(values) -> list:
    return [v for v in dict.fromkeys(values) if v != "nan"]


def cell_columns(table, x_cols) -> list[str]:
    """What makes a cell: sweep, size_label and budget for trained runs (an x column such as tokens_seen can differ
    between grid values of one cell, e.g. for a run that diverged early), else the fit's x columns."""
    if "size_label" in table and "budget" in table:
        return [c for c in CELL_COLUMNS if c in table]
    return [c for c in ("sweep", *x_cols) if c in table]


def envelope(table, y: str, columns: list[str], cells: list[str], size: str | None = None) -> Envelope:
    """The rows of each cell's winning grid value, and the record of every cell: its key, the mean y of every
    value, the winner and whether it lies at an edge of the grid. `size` names the column that orders cells by
    size in the record (n_params, or the first x), for the report and a target's grid choice."""
    table = tbl.as_table(table)
    keep = np.ones(len(table), dtype=bool)
    record = {"columns": list(columns), "cell": list(cells), "y": y, "rule": RULE, "grid": {}, "cells": [],
              "n_rows": len(table), "n_kept": len(table)}
    if not columns or not len(table):
        return Envelope(keep, record)
    grid = {c: _ordered(table, c) for c in columns}
    record["grid"] = {c: [value for value, _ in values] for c, values in grid.items()}
    ys = tbl.column_values(table, y, "y") if y in table else np.full(len(table), np.nan)
    status = table.text("status") if "status" in table else np.full(len(table), "ok", dtype=object)
    with np.errstate(invalid="ignore"):
        finished = (status == "ok") & np.isfinite(ys) & (ys > 0)
    sizes = tbl.column_values(table, size, "size") if size and size in table else None
    keep[:] = False
    cell_key = _keys(table, cells)
    value_key = _keys(table, columns)
    for key in dict.fromkeys(cell_key):
        in_cell = cell_key == key
        scores = []
        for value in dict.fromkeys(value_key[in_cell]):
            rows = in_cell & (value_key == value)
            done = rows & finished
            scores.append({"value": _value_of(table, columns, rows, grid), "n_runs": int(rows.sum()),
                           "n_finished": int(done.sum()),
                           "mean": float(np.mean(ys[done])) if done.any() else None, "_rows": rows})
        ranked = sorted(scores, key=lambda s: (s["n_finished"] < s["n_runs"], s["mean"] is None,
                                               s["mean"] if s["mean"] is not None else 0.0))
        best = ranked[0]
        if best["mean"] is None:  # nothing finished in this cell: keep every run, the fit counts why each is out
            keep |= in_cell
        else:
            keep |= best["_rows"]
        first = int(np.flatnonzero(in_cell)[0])
        record["cells"].append({
            "cell": {c: _plain(table[c][first]) for c in cells},
            "size": None if sizes is None else float(np.nanmedian(sizes[in_cell])),
            "winner": None if best["mean"] is None else best["value"],
            "at_edge": {} if best["mean"] is None else _edges(best["value"], grid),
            "scores": [{k: v for k, v in s.items() if k != "_rows"} for s in scores],
        })
    record["n_kept"] = int(keep.sum())
    record["edge_cells"] = sum(1 for c in record["cells"] if c["at_edge"])
    return Envelope(keep, record)


def _keys(table, columns) -> np.ndarray:
    """One text key per row for the values of `columns` (cells and grid values are compared as text)."""
    texts = [table.text(c) for c in columns]
    return np.array(["\x1f".join(parts) for parts in zip(*texts)], dtype=object) if texts else \
        np.full(len(table), "", dtype=object)


def _ordered(table, column) -> list[tuple]:
    """The distinct values of a grid column in grid order: [(value, text)], numbers ascending, text as found."""
    numbers = table.numeric(column)
    texts = table.text(column)
    pairs = {}
    for i, text in enumerate(texts):
        if text != "nan" and text not in pairs:
            pairs[text] = _plain(numbers[i]) if numbers is not None else _plain(table[column][i])
    items = [(value, text) for text, value in pairs.items()]
    if numbers is not None:
        items.sort(key=lambda item: item[0])
    return items


def _value_of(table, columns, rows, grid) -> dict:
    first = int(np.flatnonzero(rows)[0])
    numbers = {c: table.numeric(c) for c in columns}
    return {c: _plain(numbers[c][first]) if numbers[c] is not None else _plain(table[c][first]) for c in columns}


def _edges(value: dict, grid: dict) -> dict:
    """{column: 'lowest'|'highest'} for each grid key whose winning value is the first or last of its grid (numbers
    ordered; text keys have no order, so no edge)."""
    out = {}
    for column, values in grid.items():
        ordered = [v for v, _ in values]
        if len(ordered) < 2 or not all(isinstance(v, (int, float)) for v in ordered):
            continue
        if value[column] == ordered[0]:
            out[column] = "lowest"
        elif value[column] == ordered[-1]:
            out[column] = "highest"
    return out


def _plain(value):
    """A JSON-friendly scalar: numpy numbers to Python numbers (whole floats stay floats)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value


def choice_at_largest(record: dict) -> dict:
    """The grid value ({key: value}, keys without the grid_ prefix) that won at the largest size of the ladder (its
    largest budget there): what a target of a grid sweep trains. {} without a grid or a winner."""
    cells = [c for c in record.get("cells") or [] if c.get("winner")]
    if not cells:
        return {}

    def order(cell):
        budget = cell["cell"].get("budget")
        return (cell["size"] if cell["size"] is not None else -np.inf,
                float(budget) if isinstance(budget, (int, float)) else -np.inf)

    best = max(cells, key=order)
    return {column.removeprefix(PREFIX): value for column, value in best["winner"].items()}
