"""Reading and preparing a table for a fit: file loading, row filters, column derivation, status filtering,
outlier dropping and validation. Every problem is raised as FitInputError naming the column or value."""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import numpy as np

from .errors import FitInputError


def read_table(path):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FitInputError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    readers = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv, ".txt": pd.read_csv,
               ".tsv": lambda p: pd.read_csv(p, sep="\t"), ".json": pd.read_json}
    if suffix not in readers:
        raise FitInputError(f"cannot read {path}: use a .csv, .tsv, .json or .parquet file")
    if path.stat().st_size == 0:
        raise FitInputError(f"data file {path} is empty: no header, no rows")
    try:
        return readers[suffix](path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, OSError) as error:
        raise FitInputError(f"cannot read {path} as {suffix[1:]}: {str(error).splitlines()[0]}") from None


def as_frame(data):
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, (str, Path)):
        return read_table(data)
    if isinstance(data, dict):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
        except ValueError as error:
            raise FitInputError(f"columns of the data have different lengths: {error}") from None
    raise FitInputError(f"cannot fit data of type {type(data).__name__}; pass a DataFrame, a dict of columns or a path")


# ---- --derive NAME=EXPR: a tiny, safe arithmetic evaluator over columns ----------------------------------------
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS = {"log": np.log, "log10": np.log10, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}


def parse_derive(spec: str):
    """'NAME=EXPRESSION' -> (NAME, syntax tree, {placeholder: column}). A column whose name is not an identifier is
    written in backticks, as in pandas: D=`Training FLOP`/(6*`Model Size`)."""
    if "=" not in spec:
        raise FitInputError(f"--derive {spec!r}: expected NAME=EXPRESSION, e.g. D=C/(6*N)")
    name, expr = spec.split("=", 1)
    name, expr = name.strip(), expr.strip()
    if not name.isidentifier():
        raise FitInputError(f"--derive {spec!r}: {name!r} is not a valid column name")
    quoted = {}

    def placeholder(match):
        key = f"_column_{len(quoted)}"
        quoted[key] = match.group(1)
        return key

    expr = re.sub(r"`([^`]+)`", placeholder, expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise FitInputError(f"--derive {spec!r}: cannot parse {expr!r}") from None
    return name, tree, quoted


def evaluate(tree, frame, spec="", quoted=None):
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            column = (quoted or {}).get(node.id, node.id)
            if column not in frame.columns:
                raise FitInputError(
                    f"--derive {spec!r}: unknown column {column!r}; columns are {', '.join(map(str, frame.columns))}"
                    " (a name with spaces goes in backticks: `Model Size`)"
                )
            return frame[column].to_numpy(dtype=float)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = ev(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            if len(node.args) != 1 or node.keywords:
                raise FitInputError(f"--derive {spec!r}: {node.func.id}() takes one argument")
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise FitInputError(
            f"--derive {spec!r}: only numbers, columns, + - * / ** and {', '.join(_FUNCS)} are allowed"
        )

    with np.errstate(all="ignore"):
        return ev(tree)


def apply_derive(frame, specs):
    for spec in specs or []:
        name, tree, quoted = parse_derive(spec)
        frame[name] = evaluate(tree, frame, spec, quoted)
    return frame


# ---- --where COL=VALUE ---------------------------------------------------------------------------------------
def apply_where(frame, specs):
    """Keep rows where every COL=VALUE (or COL!=VALUE) holds; values are compared as text and as numbers."""
    for spec in specs or []:
        negate = "!=" in spec
        if "=" not in spec:
            raise FitInputError(f"--where {spec!r}: expected COLUMN=VALUE")
        col, value = spec.split("!=" if negate else "=", 1)
        col, value = col.strip(), value.strip()
        if col not in frame.columns:
            raise FitInputError(
                f"--where {spec!r}: no column {col!r}; columns are {', '.join(map(str, frame.columns))}"
            )
        column = frame[col]
        match = column.astype(str) == value
        try:
            number = float(value)
            numeric = np.asarray(column, dtype=float) if column.dtype.kind in "biuf" else None
            if numeric is not None:
                match = match | np.isclose(numeric, number, rtol=1e-12, atol=0)
        except ValueError:
            pass
        frame = frame[~match if negate else match]
    return frame


def require_column(frame, column, role):
    if column not in frame.columns:
        raise FitInputError(
            f"missing {role} column {column!r}; the table has columns: {', '.join(map(str, frame.columns))}"
        )


def column_values(frame, column, role):
    require_column(frame, column, role)
    try:
        return frame[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        import pandas as pd

        raw = frame[column]
        bad = raw[pd.to_numeric(raw, errors="coerce").isna() & raw.notna()]
        raise FitInputError(f"{role} column {column!r} is not numeric: {len(bad)} value(s) are not numbers, first "
                            f"{bad.iloc[0]!r} at row {bad.index[0]}") from None


def check_values(values, column, positive, index=None):
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = index[i] if index is not None else i
        raise FitInputError(
            f"column {column!r} has {int(bad.sum())} non-finite value(s) (NaN or inf), "
            f"first at row {row}: {values[i]!r}"
        )
    if positive:
        bad = values <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = index[i] if index is not None else i
            raise FitInputError(
                f"column {column!r} has {int(bad.sum())} zero or negative value(s), first at row {row}: "
                f"{values[i]!r}; a log is taken of it, so every value must be > 0"
            )

