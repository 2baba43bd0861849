"""From a table to the arrays a fit needs: derived columns, row filters, status filtering, outlier dropping and
validation, every exclusion counted by reason."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import table as tbl
from .errors import FitInputError, UnfittableError


def listify(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def x_list(x) -> list[str]:
    """'N,D' or ['N', 'D'] -> ['N', 'D']."""
    return [c.strip() for c in (x.split(",") if isinstance(x, str) else list(x))]


LEVEL_DECIMALS = 3  # values whose log10 agree to 3 decimals (0.7%) are one level: float noise in 6ND is not a size
MAX_LEVELS = 16  # beyond this many levels the values are a continuum: cut into MAX_LEVELS // 2 quantile bins


def levels(values) -> np.ndarray:
    """A level index (0 = smallest) per value of a size or compute axis: each distinct size or IsoFLOP budget is its
    own level; a continuum (every run at its own compute) is cut into quantile bins. The backtest holds out the
    largest levels; approach 2 fits one parabola per compute level."""
    values = np.asarray(values, dtype=float)
    key = np.round(np.log10(values), LEVEL_DECIMALS) if np.all(values > 0) else values  # x of a non-log law
    _, level = np.unique(key, return_inverse=True)
    if level.max() + 1 <= MAX_LEVELS:
        return level
    edges = np.unique(np.quantile(key, np.linspace(0, 1, MAX_LEVELS // 2 + 1)[1:-1]))
    _, level = np.unique(np.searchsorted(edges, key, side="right"), return_inverse=True)
    return level


def distinct_x(X) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct points of (k, n) X as rows (m, k), each run's index among them): np.unique(X.T, axis=0), by a
    plain sort for one input (about 6 times faster at a million rows, where four steps of a fit group by x)."""
    if X.shape[0] == 1:
        keys, inverse = np.unique(X[0], return_inverse=True)
        return keys[:, None], inverse.ravel()
    keys, inverse = np.unique(X.T, axis=0, return_inverse=True)
    return keys, inverse.ravel()


MAX_LISTED = 200  # run ids listed per exclusion reason (the count is always complete)


@dataclass
class Prepared:
    X: np.ndarray  # (k, n) raw x values
    y: np.ndarray  # (n,)
    groups: np.ndarray | None  # bootstrap unit of each row, None: every row is its own unit
    x_cols: list
    y_col: str
    n_excluded: int
    excluded: dict  # {reason: count}
    excluded_runs: dict  # {reason: [run ids]} (at most MAX_LISTED each)
    n_filtered: int  # rows removed by `where`
    n_input: int  # rows read
    envelope: dict  # the grid envelope's record ({} without a grid): fitting.envelope
    compute: np.ndarray | None = None  # (n,) each run's compute budget, for approach 2 (None: not an IsoFLOP table)
    compute_name: str = ""  # where `compute` comes from: compute_budget, or 6*x0*x1


def prepare(data, law, x, y, settings) -> Prepared:
    x_cols = x_list(x)
    if len(x_cols) != len(law.inputs):
        raise FitInputError(
            f"law {law.name!r} takes {len(law.inputs)} input(s) ({', '.join(law.inputs)}) but {len(x_cols)} x "
            f"column(s) were given: {', '.join(x_cols)}"
        )
    frame = tbl.as_table(data)
    n_input = len(frame)
    frame = tbl.apply_derive(frame, listify(settings.get("derive")))
    frame = tbl.apply_where(frame, listify(settings.get("where")))
    n_filtered = n_input - len(frame)
    if not len(frame):
        where = f" match {' and '.join(listify(settings.get('where')))}" if settings.get("where") else ""
        raise UnfittableError(f"no rows{where}: {n_input} row(s) read, nothing to fit")
    frame, grid = _envelope(frame, x_cols, y, settings.get("envelope", "auto"))
    frame, excluded = _exclude(frame, y, int(settings.get("drop_top_y") or 0))
    if len(frame) < law.n_params:  # before reading columns: a sweep whose runs all failed may not have them
        _check_enough(law, np.empty((len(x_cols), len(frame))), np.empty(len(frame)), x_cols, excluded)
    index = list(frame.index)
    X = np.stack([tbl.column_values(frame, c, "x") for c in x_cols])
    yv = tbl.column_values(frame, y, "y")
    for col, values, positive in zip(x_cols, X, law.input_is_logged):
        tbl.check_values(values, col, positive, index)
    tbl.check_values(yv, y, True, index)
    _check_enough(law, X, yv, x_cols, excluded)
    return Prepared(X, yv, _groups(frame, settings.get("bootstrap_unit", "run")), x_cols, y,
                    sum(len(ids) for ids in excluded.values()), {k: len(v) for k, v in excluded.items()},
                    {k: v[:MAX_LISTED] for k, v in excluded.items()}, n_filtered, n_input, grid,
                    *_compute(frame, X, x_cols))


COMPUTE_COLUMN = "compute_budget"  # an IsoFLOP sweep's runs: the budget C each (size, C) cell was given


def _compute(frame, X, x_cols) -> tuple:
    """(each run's compute for approach 2, its name): its `compute_budget` (exact per IsoFLOP cell), else
    C = 6 x0 x1 for a two-input law (N, D); (None, '') otherwise."""
    if COMPUTE_COLUMN in frame:
        values = frame.numeric(COMPUTE_COLUMN)
        if values is not None and np.all(np.isfinite(values) & (values > 0)):
            return values, COMPUTE_COLUMN
    if len(X) == 2 and np.all(X > 0):
        return 6.0 * X[0] * X[1], f"C = 6*{x_cols[0]}*{x_cols[1]}"
    return None, ""


def _envelope(frame, x_cols, y, requested):
    """The rows of each (size, budget) cell's best grid value (`fitting.envelope`), and the envelope's record."""
    from . import envelope

    columns = envelope.grid_columns(frame, requested)
    fitted = [c for c in columns if c == y or c in x_cols]
    if fitted:
        raise FitInputError(f"--envelope {fitted[0]}: {fitted[0]!r} is the fit's {'y' if fitted[0] == y else 'x'} "
                            "column; the envelope keeps, per (size, budget) cell, the runs of the best value of a grid "
                            "column (a hyperparameter, e.g. grid_lr), by their mean y")
    if not columns:
        return frame, {}
    result = envelope.envelope(frame, y, columns, envelope.cell_columns(frame, x_cols), size=x_cols[0])
    return frame.take(result.keep), result.record


def run_ids(frame) -> list:
    """What names a run in the report: run_id, else run_path, else the row's index."""
    for column in ("run_id", "run_path"):
        if column in frame:
            return frame.text(column).tolist()
    return [str(i) for i in frame.index]


def _exclude(frame, y, drop_top_y):
    """Drop runs whose status is not ok, then the drop_top_y largest y; return the rest and {reason: [run ids]}."""
    excluded: dict[str, list] = {}
    if "status" in frame:
        status = frame.text("status")
        for value in sorted(set(status[status != "ok"])):
            excluded[f"status={value}"] = run_ids(frame.take(status == value))
        frame = frame.take(status == "ok")
    if drop_top_y:
        ys = tbl.column_values(frame, y, "y")
        if drop_top_y >= len(frame):
            raise FitInputError(f"--drop-top-y {drop_top_y} would drop all {len(frame)} rows")
        order = np.argsort(ys, kind="stable")
        excluded["drop_top_y"] = run_ids(frame.take(np.sort(order[len(frame) - drop_top_y :])))
        frame = frame.take(np.sort(order[: len(frame) - drop_top_y]))
    return frame, excluded


def _check_enough(law, X, y, x_cols, excluded):
    """Enough usable runs for the law, else UnfittableError saying what is missing and what was left out."""
    n = y.shape[0]
    left_out = "; excluded: " + ", ".join(f"{len(v)} {k}" for k, v in excluded.items()) if excluded else ""
    if n < law.n_params:
        raise UnfittableError(
            f"{n} usable point(s) but law {law.name!r} has {law.n_params} parameters "
            f"({', '.join(law.natural)}); need at least {law.n_params}{left_out}", excluded)
    for col, values in zip(x_cols, X):
        if np.unique(values).size < 2:
            raise UnfittableError(f"x column {col!r} has a single distinct value ({values[0]!r}) among the usable "
                                  f"runs; nothing to fit{left_out}", excluded)
    distinct = distinct_x(X)[0].shape[0]
    if distinct < law.n_params:
        raise UnfittableError(
            f"{distinct} distinct {'/'.join(x_cols)} point(s) but law {law.name!r} has {law.n_params} parameters: "
            f"replicates do not identify it{left_out}", excluded)


def _groups(frame, unit):
    """The bootstrap unit of each row: None for `run` (one row per run: rows are resampled), else the values of the
    column named by `unit`, whose groups are resampled whole."""
    if unit in (None, "run"):
        return None
    if unit not in frame:
        raise FitInputError(
            f"bootstrap unit {unit!r} is neither 'run' nor a column; the table has columns: {', '.join(frame.columns)}"
        )
    return frame.text(unit)
