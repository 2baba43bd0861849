"""Checks of the study's `datasets` block, before any job: a built-in dataset's parameters, or the study's own data
(its kind's keys, its file and header, its function's signature), without reading the data or running user code.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError
from .validate import did_you_mean, key_path, unknown_key_message


def check_datasets(config: dict) -> None:
    """Every `datasets` entry: a built-in dataset's parameters, or the study's own data (a `kind`: its keys, its
    file, its function's signature), or an entry point; and every sweep's dataset known."""
    for name, params in (config.get("datasets") or {}).items():
        dataset = dataset_of(config, name, ["datasets", name])
        if getattr(dataset, "kind", "builtin") == "builtin":
            _check_builtin_dataset(name, params, dataset)
        else:
            _check_user_dataset(name, params, dataset)
    for i, sweep in enumerate(config.get("sweeps") or []):
        if "dataset" in sweep:
            dataset_of(config, sweep["dataset"], ["sweeps", i, "dataset"])


def dataset_of(config: dict, name: str, where: list):
    """The dataset a study means by `name` (scalinglab.datasets.get_spec), or a ConfigError at `where` that lists
    what is known: the built-in datasets, the study's own and the installed entry points."""
    from .. import plugins
    from ..datasets import DATASETS, get_spec

    declared = config.get("datasets") or {}
    try:
        return get_spec(name, declared.get(name))
    except ConfigError as error:
        if (declared.get(name) or {}).get("kind"):
            message = str(error)
            raise ConfigError(message if message.startswith(f"datasets.{name}") else f"{key_path(where)}: {message}",
                              where) from None
    own = (n for n, block in declared.items() if n not in DATASETS and (block or {}).get("kind"))
    known = [*DATASETS, *own, *plugins.entry_points("scalinglab.datasets")]
    raise ConfigError(f"{key_path(where)}: unknown dataset {name!r}{did_you_mean(name, known)}; known: "
                      f"{', '.join(known)} (scalinglab datasets lists them; declare your own data with a `kind` in "
                      "the study's `datasets` block)", where)


def _check_builtin_dataset(name: str, params: dict, dataset) -> None:
    for key in params:
        if key not in dataset.defaults:
            raise ConfigError(unknown_key_message(["datasets", name], key, dataset.defaults), ["datasets", name, key])
    pool = dataset.pool_size(params)
    if pool is not None and pool < 1:
        held_out = ", ".join(f"{key} {params[key]}" for key in ("val_size", "test_size") if key in params)
        raise ConfigError(f"datasets.{name}: {held_out or 'the held-out splits'} leave no training samples of the "
                          f"{dataset.corpus_size} in {name}; make val_size + test_size smaller", ["datasets", name])


def _check_user_dataset(name: str, params: dict, dataset) -> None:
    """The keys of its kind, the file it reads (or the function's file, name and keyword arguments), without
    reading the data or running the user's code."""
    from .. import plugins
    from ..datasets import user

    where = ["datasets", name]
    for key in params:
        if key not in dataset.defaults:
            raise ConfigError(f"{unknown_key_message(where, key, dataset.defaults)} (for kind "
                              f"{params.get('kind', 'entry point')})", [*where, key])
    try:
        merged = dataset.params_with_defaults(params)
    except ConfigError as error:
        raise ConfigError(str(error), where) from None
    if dataset.kind in ("text", "arrays"):
        path = Path(merged["path"])
        if not path.is_file():
            raise ConfigError(f"datasets.{name}.path: no file {path} (paths in a study are relative to the directory "
                              f"snakemake runs in, here {Path.cwd()})", [*where, "path"])
        if path.stat().st_size == 0:
            raise ConfigError(f"datasets.{name}.path: {path} is empty; a {dataset.kind} dataset needs "
                              f"{'text' if dataset.kind == 'text' else 'rows'} to train on", [*where, "path"])
        if dataset.kind == "arrays" and path.suffix not in user.ARRAY_SUFFIXES:
            raise ConfigError(f"datasets.{name}.path: {path} is not an .npz, .csv, .tsv or .parquet file",
                              [*where, "path"])
        if dataset.kind == "arrays" and path.suffix != ".npz" and not merged.get("target"):
            raise ConfigError(f"datasets.{name}: a table ({path.suffix}) needs `target:`, the column to predict "
                              "(and optionally `features:`, the input columns; default: all others)", where)
        if dataset.kind == "arrays" and path.suffix != ".npz":
            _check_table_columns(name, path, merged)
        _check_split_fractions(name, merged)
        return
    _check_split_fractions(name, merged)
    reference = merged["function"] if dataset.kind == "python" else name
    at = [*where, "function"] if dataset.kind == "python" else where
    try:
        plugins.check(reference, user.GROUP, contract=user.PYTHON_CONTRACT, keywords=list(merged["params"] or {}))
    except plugins.UserCodeError as error:
        raise ConfigError(f"{key_path(at)}: {error}", at) from None


def _check_table_columns(name: str, path: Path, params: dict) -> None:
    """The target and feature columns a table names are in its header (read alone, not the data)."""
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            header = list(pq.read_schema(path).names)
        except Exception as error:  # pyarrow raises several types for a file that is not parquet
            raise ConfigError(f"datasets.{name}.path: {path} is not a parquet file: {error}",
                              ["datasets", name, "path"]) from None
    else:
        import csv

        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle, delimiter="\t" if path.suffix == ".tsv" else ","), [])
    wanted = [("target", params["target"])] + [(f"features[{k}]", c) for k, c in enumerate(params["features"] or [])]
    for key, column in wanted:
        if column not in header:
            at = ["datasets", name, key.split("[")[0]]
            raise ConfigError(f"datasets.{name}.{key}: {column!r} is not a column of {path}"
                              f"{did_you_mean(column, header)}; its columns: {', '.join(header) or 'none'}", at)


def _check_split_fractions(name: str, params: dict) -> None:
    """val_size and test_size given as fractions of the samples leave some for training."""
    fractions = {key: params[key] for key in ("val_size", "test_size") if params.get(key) is not None}
    if len(fractions) == 2 and all(value < 1 for value in fractions.values()) and sum(fractions.values()) >= 1:
        raise ConfigError(f"datasets.{name}: val_size {fractions['val_size']} + test_size {fractions['test_size']} "
                          f"= {sum(fractions.values()):g} leave no samples for training; allowed: fractions that "
                          "sum to less than 1 (or counts of samples)", ["datasets", name])

