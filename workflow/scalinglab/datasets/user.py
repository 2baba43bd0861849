"""The user's own data: a `datasets` entry with a `kind`, or a name registered under the entry-point group
`scalinglab.datasets` (docs/extending.md).

    kind: text     path: corpus.txt           a character-level language-modelling corpus (vocabulary from the text)
    kind: arrays   path: data.npz             keys X and y, optionally X_val, y_val, X_test, y_test
                   path: data.csv | .parquet  with `target:` (a column) and `features:` (columns; default: all others)
    kind: python   function: file.py:NAME     NAME(**params) returns the arrays: {"X": ..., "y": ..., ...} or (X, y)

An entry point names a function with the same contract as `kind: python` (its entry takes `params`, `task`,
`val_size`, `test_size`, `seed`, but no `kind` or `function`).

For every kind: the file's sha256 is in meta.json and in the cache key (`dataset_id`), so a changed file is
prepared again; splits are deterministic: text is split in order (train, then validation, then the test tail); arrays
are shuffled with `seed`, and validation and test samples are drawn from X unless the file gives them. The training
pool is shuffled too, so a budget (which takes its first samples) is a random subset of it. The task is given
(`task: classification | regression`) or inferred from y: integers, strings or booleans mean classification
(labels are numbered 0..K-1 in sorted order; meta.json keeps them in `classes`), floats mean regression.
Data with NaN or inf, ragged rows, or a single class is refused with the file and the row.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import plugins

GROUP = "scalinglab.datasets"
KINDS = ("text", "arrays", "python")
SPLIT_DEFAULTS = {"task": None, "val_size": 0.1, "test_size": 0.1, "seed": 0}
KIND_DEFAULTS = {
    "text": {"kind": "text", "path": None, "val_fraction": 0.05, "test_fraction": 0.05},
    "arrays": {"kind": "arrays", "path": None, "features": None, "target": None, **SPLIT_DEFAULTS},
    "python": {"kind": "python", "function": None, "params": {}, **SPLIT_DEFAULTS},
    "entry_point": {"params": {}, **SPLIT_DEFAULTS},
}
REQUIRED = {"text": ("path",), "arrays": ("path",), "python": ("function",), "entry_point": ()}
# Files `kind: arrays` reads: an .npz of arrays, or a table.
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
ARRAY_SUFFIXES = (".npz", *TABLE_SUFFIXES)
PYTHON_CONTRACT = "NAME(**params) -> {'X': array, 'y': array, optional 'X_val', 'y_val', 'X_test', 'y_test'} | (X, y)"


class DataError(ValueError):
    """User data that cannot be trained on; the message names the dataset, the file and the row."""


@dataclass(frozen=True)
class UserDataset:
    """A dataset declared by the study (or an entry point): the same interface as the built-in DatasetSpec."""

    name: str
    kind: str  # text, arrays, python or entry_point
    defaults: dict = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return "tokens" if self.kind == "text" else "samples"

    @property
    def task(self) -> str | None:
        return "lm" if self.kind == "text" else None  # arrays: given or inferred when prepared

    @property
    def description(self) -> str:
        return f"the study's own data (kind: {self.kind})" if self.kind in KINDS else f"entry point {self.name}"

    def params_with_defaults(self, params: dict) -> dict:
        from ..config import ConfigError

        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(f"datasets.{self.name}: unknown key(s) {', '.join(unknown)} for kind {self.kind}; "
                              f"allowed: {', '.join(sorted(self.defaults))}")
        missing = [key for key in REQUIRED[self.kind] if not params.get(key)]
        if missing:
            raise ConfigError(f"datasets.{self.name}: kind {self.kind} needs {', '.join(missing)}")
        merged = {**self.defaults, **params}
        for key in ("val_size", "test_size"):
            if key in merged and not (isinstance(merged[key], (int, float)) and merged[key] > 0):
                raise ConfigError(f"datasets.{self.name}.{key}: a fraction in (0, 1) or a count >= 1, "
                                  f"not {merged[key]!r}")
        if merged.get("task") not in (None, "classification", "regression"):
            raise ConfigError(f"datasets.{self.name}.task: classification or regression (or leave it out to infer "
                              f"it from y), not {merged['task']!r}")
        return merged

    def source_file(self, params: dict) -> Path | None:
        """The file whose content keys the cache: the data file, or the Python file of a function."""
        params = self.params_with_defaults(params)
        if self.kind in ("text", "arrays"):
            return Path(params["path"])
        reference = params["function"] if self.kind == "python" else self.name
        return plugins.source_path(reference, GROUP)

    def file_sha256(self, params: dict) -> str | None:
        path = self.source_file(params)
        if path is None:
            return None
        require_file(self.name, path)
        return plugins.file_sha256(path)

    def identity(self, params: dict) -> dict:
        """What the prepared data depends on: name, kind, parameters with defaults, the file's content."""
        return {"name": self.name, "kind": self.kind, "params": self.params_with_defaults(params),
                "file_sha256": self.file_sha256(params)}

    def dataset_id(self, params: dict | None = None) -> str:
        """The cache key of the prepared data: 12 hex digits of the sha256 of `identity`."""
        from ..config import short_hash

        return short_hash(self.identity(params or {}), length=12, algorithm="sha256")

    def shape_meta(self, params: dict | None = None) -> dict | None:
        """The model-sizing keys of meta.json before preparing, where cheap: a text's vocabulary; else None."""
        if self.kind != "text":
            return None
        return {"vocab_size": len(set(_read_text(self.name, Path(self.params_with_defaults(params or {})["path"]))))}

    def pool_size(self, params: dict | None = None) -> int | None:
        return None  # known once prepared (prepare_data refuses a budget larger than the pool)

    def generate(self, params: dict) -> tuple[dict, dict]:
        params = self.params_with_defaults(params)
        sha = self.file_sha256(params)
        if self.kind == "text":
            arrays, meta = text_arrays(self.name, params)
        else:
            arrays, meta = sample_arrays(self.name, params, self._raw_arrays(params))
        return arrays, {**meta, "file_sha256": sha, "kind": self.kind}

    def _raw_arrays(self, params: dict) -> dict:
        if self.kind == "arrays":
            path = Path(params["path"])
            return read_npz(self.name, path) if path.suffix == ".npz" else read_table(self.name, path, params)
        reference = params["function"] if self.kind == "python" else self.name
        function, ref = plugins.load(reference, GROUP)
        returned = plugins.call(function, ref, (), dict(params["params"] or {}), PYTHON_CONTRACT)
        return returned_arrays(self.name, ref, returned)


def user_dataset(name: str, block: dict | None) -> UserDataset | None:
    """The user dataset a `datasets` entry (or an entry-point name) declares, or None for a built-in name."""
    block = block or {}
    kind = block.get("kind")
    if kind is not None:
        if kind not in KINDS:
            from ..config import ConfigError

            raise ConfigError(f"datasets.{name}.kind: {kind!r} is not a kind of data; allowed: {', '.join(KINDS)}")
        return UserDataset(name, kind, KIND_DEFAULTS[kind])
    if name in plugins.entry_points(GROUP):
        return UserDataset(name, "entry_point", KIND_DEFAULTS["entry_point"])
    return None


def require_file(name: str, path: Path) -> None:
    if not path.is_file():
        raise DataError(f"datasets.{name}: no file {path} (paths in a study are relative to the directory snakemake "
                        f"runs in, here {Path.cwd()})")


# ------------------------------------------------------------------------------------------------------- text


def _read_text(name: str, path: Path) -> str:
    require_file(name, path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise DataError(f"datasets.{name}: {path} is not UTF-8 text (byte {error.start}, line {line})") from None


def text_arrays(name: str, params: dict) -> tuple[dict, dict]:
    """Character-level tokens, split in order: train, validation, test (the tail)."""
    import numpy as np

    path = Path(params["path"])
    text = _read_text(name, path)
    vocab = sorted(set(text))
    if len(vocab) < 2:
        raise DataError(f"datasets.{name}: {path} holds {len(text)} characters of {len(vocab)} kind(s): nothing to "
                        "model")
    index = {ch: i for i, ch in enumerate(vocab)}
    dtype = np.uint8 if len(vocab) <= 256 else np.int32
    tokens = np.fromiter((index[ch] for ch in text), dtype=dtype, count=len(text))
    n = len(tokens)
    n_val, n_test = round(n * float(params["val_fraction"])), round(n * float(params["test_fraction"]))
    n_train = n - n_val - n_test
    if min(n_val, n_test) < 2 or n_train < 2:
        raise DataError(f"datasets.{name}: {path} ({n} characters) is too short for val_fraction "
                        f"{params['val_fraction']} and test_fraction {params['test_fraction']}")
    arrays = {"train": tokens[:n_train], "val": tokens[n_train : n_train + n_val], "test": tokens[n_train + n_val :]}
    meta = {"sizes": {k: len(v) for k, v in arrays.items()}, "vocab": vocab, "vocab_size": len(vocab),
            "source": str(path)}
    return arrays, meta


# ------------------------------------------------------------------------------------------------------- arrays


def read_npz(name: str, path: Path) -> dict:
    import numpy as np

    require_file(name, path)
    out = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            try:
                out[key] = npz[key]
            except ValueError as error:
                raise DataError(f"datasets.{name}: {path}: array {key!r} holds Python objects (ragged rows or mixed "
                                f"types?): {error}") from None
    if "X" not in out or "y" not in out:
        raise DataError(f"datasets.{name}: {path} needs arrays X and y (optionally X_val, y_val, X_test, y_test); "
                        f"it holds {', '.join(sorted(out)) or 'nothing'}")
    return out


def read_table(name: str, path: Path, params: dict) -> dict:
    """X and y from the `features` and `target` columns of a CSV or parquet file."""
    import pandas as pd

    if path.suffix not in TABLE_SUFFIXES:
        raise DataError(f"datasets.{name}: {path}: kind arrays reads .npz, .csv, .tsv or .parquet files")
    require_file(name, path)
    target = params.get("target")
    if not target:
        raise DataError(f"datasets.{name}: a table needs `target:` (the column to predict)")
    try:
        if path.suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    except pd.errors.ParserError as error:
        raise DataError(f"datasets.{name}: {path} has ragged rows: {str(error).strip()}") from None
    features = list(params.get("features") or [c for c in frame.columns if c != target])
    missing = [c for c in [*features, target] if c not in frame.columns]
    if missing:
        raise DataError(f"datasets.{name}: {path} has no column(s) {', '.join(map(repr, missing))}; "
                        f"columns: {', '.join(map(str, frame.columns))}")
    table = frame[features]
    text_columns = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])]
    if text_columns:
        raise DataError(f"datasets.{name}: {path}: feature column(s) {', '.join(text_columns)} are not numeric "
                        "(encode them, or leave them out of `features`)")
    blank = table.isna().any(axis=1) | frame[target].isna()
    if blank.any():
        row = int(blank.to_numpy().argmax())
        line = f", line {row + 2}" if path.suffix != ".parquet" else ""
        raise DataError(f"datasets.{name}: {path}: row {row}{line} has a missing value (NaN or an empty cell)")
    return {"X": table.to_numpy(), "y": frame[target].to_numpy()}


def returned_arrays(name: str, ref: plugins.Reference, returned) -> dict:
    """The arrays a `kind: python` function returned: a mapping with X and y (and splits), or a pair (X, y)."""
    import numpy as np

    if isinstance(returned, tuple) and len(returned) == 2:
        returned = {"X": returned[0], "y": returned[1]}
    if not isinstance(returned, dict) or "X" not in returned or "y" not in returned:
        kind = type(returned).__name__
        raise plugins.UserCodeError(f"datasets.{name}: {ref.text} returned a {kind}; the contract is "
                                    f"{PYTHON_CONTRACT}", plugins._display(ref.path))
    out = {}
    for key, value in returned.items():
        try:
            out[key] = np.asarray(value)
        except ValueError as error:
            raise DataError(f"datasets.{name}: {ref.text} returned {key} with ragged rows: {error}") from None
        if out[key].dtype == object:
            raise DataError(f"datasets.{name}: {ref.text} returned {key} with ragged rows or mixed types")
    return out


def _count(size: float, n: int) -> int:
    return int(size) if size >= 1 else round(size * n)


def sample_arrays(name: str, params: dict, raw: dict) -> tuple[dict, dict]:
    """Checked, typed and split arrays (x_train, y_train, x_val, y_val, x_test, y_test) and their meta."""
    import numpy as np

    source = str(params.get("path") or params.get("function") or f"entry point {name}")
    where = f"datasets.{name} ({source})"
    splits = {"train": (raw["X"], raw["y"])}
    for split in ("val", "test"):
        x, y = raw.get(f"X_{split}"), raw.get(f"y_{split}")
        if (x is None) != (y is None):
            raise DataError(f"{where}: give X_{split} and y_{split} together, or neither")
        if x is not None:
            splits[split] = (x, y)
    for split, (x, y) in splits.items():
        check_rows(where, split, x, y)
    rng = np.random.default_rng(int(params["seed"]))
    x, y = splits["train"]
    order = rng.permutation(len(y))
    carved = {split: _count(float(params[f"{split}_size"]), len(y)) for split in ("test", "val") if split not in splits}
    start = 0
    for split, count in carved.items():
        splits[split] = (x[order[start : start + count]], y[order[start : start + count]])
        start += count
    if start >= len(y) or min(carved.values(), default=1) < 1:
        raise DataError(f"{where}: {len(y)} samples leave none for training or none for "
                        f"{' and '.join(carved)} (val_size {params['val_size']}, test_size {params['test_size']})")
    rest = order[start:]
    splits["train"] = (x[rest], y[rest])
    task = params.get("task") or infer_task(splits["train"][1])
    arrays, target_meta = encode_targets(where, task, splits)
    features = arrays["x_train"].shape[1:]
    meta = {
        "task": task,
        "sizes": {split: len(arrays[f"y_{split}"]) for split in ("train", "val", "test")},
        "n_features": int(np.prod(features)) if features else 1,
        "input_shape": [int(d) for d in features],
        **target_meta,
        "source": source,
    }
    return arrays, meta


def check_rows(where: str, split: str, x, y) -> None:
    import numpy as np

    suffix = "" if split == "train" else f"_{split}"
    if x.dtype == object or (y.dtype == object and not all(isinstance(v, str) for v in y.ravel())):
        raise DataError(f"{where}: X{suffix}/y{suffix} hold Python objects (ragged rows or mixed types)")
    if x.ndim == 0 or len(x) != len(y):
        raise DataError(f"{where}: X{suffix} has {len(x) if x.ndim else 0} rows and y{suffix} {len(y)}: "
                        "one label per row")
    if len(y) == 0:
        raise DataError(f"{where}: X{suffix} is empty")
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise DataError(f"{where}: X{suffix} is {x.dtype}, not numbers")
    for label, values in ((f"X{suffix}", x), (f"y{suffix}", y)):
        if np.issubdtype(values.dtype, np.floating):
            bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
            if bad.any():
                raise DataError(f"{where}: {label} row {int(bad.argmax())} holds NaN or inf")


def infer_task(y) -> str:
    import numpy as np

    return "regression" if np.issubdtype(y.dtype, np.floating) else "classification"


def encode_targets(where: str, task: str, splits: dict) -> tuple[dict, dict]:
    """Arrays with float32 features and task-typed targets, and the target's meta."""
    import numpy as np

    arrays = {f"x_{s}": np.ascontiguousarray(x, dtype=np.float32) for s, (x, _) in splits.items()}
    ys = {s: y for s, (_, y) in splits.items()}
    if task == "regression":
        if not all(np.issubdtype(y.dtype, np.number) for y in ys.values()):
            raise DataError(f"{where}: task regression needs numeric targets")
        for s, y in ys.items():
            arrays[f"y_{s}"] = np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32)
        return arrays, {"n_outputs": int(arrays["y_train"].shape[1])}
    flat = {s: y.reshape(len(y), -1) for s, y in ys.items()}
    if any(f.shape[1] != 1 for f in flat.values()):
        raise DataError(f"{where}: classification needs one label per row, y has shape {ys['train'].shape}")
    flat = {s: f[:, 0] for s, f in flat.items()}
    if any(np.issubdtype(f.dtype, np.floating) and not np.all(f == np.round(f)) for f in flat.values()):
        raise DataError(f"{where}: task classification needs whole-number or text labels; y holds fractions "
                        "(leave `task` out, or set task: regression)")
    classes = np.unique(np.concatenate(list(flat.values())))
    if len(np.unique(flat["train"])) < 2:
        only = _json_label(flat["train"][0])
        raise DataError(f"{where}: the training labels hold a single class ({only!r}): nothing to classify")
    for s, f in flat.items():
        arrays[f"y_{s}"] = np.searchsorted(classes, f).astype(np.int64)
    labels = [_json_label(c) for c in classes]
    return arrays, {"n_classes": len(classes), "classes": labels}


def _json_label(value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value if isinstance(value, (int, str, bool)) else json.dumps(value, default=str)
