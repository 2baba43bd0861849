"""Reading and preparing a table for a fit: file loading, row filters, column derivation, status filtering,
outlier dropping and validation. Every problem is raised as FitInputError naming the column or value.

A table is a `Table`: named numpy columns (float where every value is a number, else text), light enough that
`scalinglab fit` on a CSV never imports pandas (a CSV is read with the csv module). DataFrames, dicts of columns,
parquet and JSON files are converted to one (pandas is imported for those files only)."""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import numpy as np

from .errors import FitInputError

MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "-nan", "NULL", "null", "None", "none", "<NA>"})


class Table:
    """Columns of equal length: {name: 1-D numpy array}, float64 for numbers, object (str or None) for text.
    `index` holds each row's position in the table it was read from, so errors name the row of the file."""

    def __init__(self, columns: dict, index=None):
        self.data = {str(k): v for k, v in columns.items()}
        lengths = {len(v) for v in self.data.values()}
        if len(lengths) > 1:
            raise FitInputError(f"columns of the data have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else (0 if index is None else len(index))
        self.index = np.arange(n) if index is None else np.asarray(index)

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, name) -> bool:
        return name in self.data

    def __getitem__(self, name) -> np.ndarray:
        return self.data[name]

    def __setitem__(self, name, values) -> None:
        self.data[name] = np.asarray(values)

    def take(self, rows) -> Table:
        """The rows selected by a boolean mask or integer positions, in that order."""
        rows = np.asarray(rows)
        return Table({k: v[rows] for k, v in self.data.items()}, self.index[rows])

    def text(self, name) -> np.ndarray:
        """A column as text (a number as Python writes it: 1.0, 0.01; a missing value as 'nan')."""
        values = self.data[name]
        if values.dtype.kind in "fiub":
            return np.array([str(float(v)) for v in values], dtype=object)
        return np.array(["nan" if v is None else str(v) for v in values], dtype=object)

    def numeric(self, name) -> np.ndarray | None:
        """A column as float64, or None where it holds text that is not a number."""
        values = self.data[name]
        if values.dtype.kind in "fiub":
            return values.astype(float)
        out = np.empty(len(values))
        for i, v in enumerate(values):
            if v is None:
                out[i] = np.nan
                continue
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                return None
        return out


def _column(values: list) -> np.ndarray:
    """A column read as text: float64 when every present value is a number (missing ones NaN), else text."""
    try:
        return np.array([np.nan if v in MISSING else float(v) for v in values], dtype=float)
    except ValueError:
        return np.array([None if v in MISSING else v for v in values], dtype=object)


def read_csv(path: Path, delimiter: str = ",") -> Table:
    """A CSV (or TSV) file as a Table with the csv module: a header line, then rows (short rows are padded with
    missing values, as pandas does; longer ones are an error naming the line)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    if not rows:
        raise FitInputError(f"data file {path} is empty: no header, no rows")
    header, body = rows[0], [row for row in rows[1:] if row]
    names, seen = [], {}
    for i, name in enumerate(header):
        name = name.strip() or f"Unnamed: {i}"
        if name in seen:  # which of the two a fit would read is a guess: refuse
            raise FitInputError(f"{path}: the header names column {name!r} twice (columns {seen[name] + 1} and "
                                f"{i + 1}); rename one")
        seen[name] = i
        names.append(name)
    width = len(names)
    for line, row in enumerate(body, 2):
        if len(row) > width:
            raise FitInputError(f"cannot read {path} as {'tsv' if delimiter == chr(9) else 'csv'}: line {line} has "
                                f"{len(row)} fields, the header {width}")
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    columns = list(zip(*body)) if body else [()] * width
    return Table({name: _column(list(values)) for name, values in zip(names, columns)})


def from_frame(frame) -> Table:
    """A pandas DataFrame as a Table (numbers as float64, everything else as text or None)."""
    import pandas as pd

    columns = {}
    for name in frame.columns:
        series = frame[name]
        if series.dtype.kind in "fiub":
            columns[str(name)] = series.to_numpy(dtype=float)
        else:
            values = series.to_numpy(dtype=object)
            columns[str(name)] = np.array([None if _is_missing(v, pd) else v for v in values], dtype=object)
    return Table(columns, np.arange(len(frame)))


def _is_missing(value, pd) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array in a cell
        return False


def _checked(path) -> tuple[Path, str]:
    """(path, its suffix) of a table file that exists, is not empty and has a known suffix."""
    path = Path(path)
    if not path.is_file():
        raise FitInputError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".txt", ".tsv", ".json"):
        raise FitInputError(f"cannot read {path}: use a .csv, .tsv, .json or .parquet file")
    if path.stat().st_size == 0:
        raise FitInputError(f"data file {path} is empty: no header, no rows")
    return path, suffix


def read_table(path) -> Table:
    """A table file as a Table: CSV and TSV with the csv module (no pandas), JSON and parquet through pandas."""
    path, suffix = _checked(path)
    if suffix in (".csv", ".txt", ".tsv"):
        try:
            return read_csv(path, "\t" if suffix == ".tsv" else ",")
        except (UnicodeDecodeError, OSError) as error:
            raise FitInputError(f"cannot read {path} as {suffix[1:]}: {str(error).splitlines()[0]}") from None
    return from_frame(read_frame(path))


def read_frame(path):
    """A table file as a pandas DataFrame (what the report groups and draws), with the errors of read_table."""
    import pandas as pd

    path, suffix = _checked(path)
    readers = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv, ".txt": pd.read_csv,
               ".tsv": lambda p: pd.read_csv(p, sep="\t"), ".json": pd.read_json}
    try:
        return readers[suffix](path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, OSError) as error:
        raise FitInputError(f"cannot read {path} as {suffix[1:]}: {str(error).splitlines()[0]}") from None


def as_table(data) -> Table:
    """A Table from a Table, a DataFrame, a dict of columns or a .csv/.tsv/.json/.parquet path."""
    if isinstance(data, Table):
        return Table(dict(data.data), data.index)
    if isinstance(data, (str, Path)):
        return read_table(data)
    if isinstance(data, dict):
        columns = {}
        for name, values in data.items():
            values = np.asarray(values)
            columns[name] = values.astype(float) if values.dtype.kind in "fiub" else values.astype(object)
        return Table(columns)
    if type(data).__name__ == "DataFrame":
        return from_frame(data)
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
            if column not in frame:
                raise FitInputError(
                    f"--derive {spec!r}: unknown column {column!r}; columns are {', '.join(frame.columns)}"
                    " (a name with spaces goes in backticks: `Model Size`)"
                )
            return column_values(frame, column, f"--derive {spec!r}: column")
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
        if col not in frame:
            raise FitInputError(f"--where {spec!r}: no column {col!r}; columns are {', '.join(frame.columns)}")
        match = frame.text(col) == value
        try:
            number = float(value)
        except ValueError:
            number = None
        numeric = frame.numeric(col) if number is not None else None
        if numeric is not None:
            with np.errstate(invalid="ignore"):
                match = match | np.isclose(numeric, number, rtol=1e-12, atol=0)
        frame = frame.take(~match if negate else match)
    return frame


def require_column(frame, column, role):
    if column not in frame:
        raise FitInputError(f"missing {role} column {column!r}; the table has columns: {', '.join(frame.columns)}")


def column_values(frame, column, role):
    """The column as float64; a column with text that is not a number is an error naming the first such value."""
    require_column(frame, column, role)
    values = frame.numeric(column)
    if values is not None:
        return values
    bad = []
    for position, value in enumerate(frame[column]):
        try:
            float(value)
        except (TypeError, ValueError):
            if value is not None:
                bad.append(position)
    first = bad[0]
    raise FitInputError(f"{role} column {column!r} is not numeric: {len(bad)} value(s) are not numbers, first "
                        f"{frame[column][first]!r} at row {frame.index[first]}")


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

