"""The run table: a validated study expanded into one run spec per (sweep, size, budget, seed)."""

from __future__ import annotations

import itertools

from .errors import ConfigError
from .identity import canonical_json, run_id

# The config keys that decide which runs a study has (what the aggregate step needs to list them). The operational
# keys are not among them: changing them changes no run.
RUN_TABLE_KEYS = ("device", "datasets", "sweeps")


def run_table_config(config: dict) -> dict:
    return {key: config[key] for key in RUN_TABLE_KEYS if key in config}


def run_paths(table_config: dict) -> list[str]:
    """The run paths of a study from its run-table keys (run_table_config), in config order."""
    from .schema import defaults

    return [spec["run_path"] for spec in expand({**defaults(), **table_config})]


def human_count(value: float) -> str:
    """2000000 -> '2M', 50000 -> '50K', 1500 -> '1.5K': short labels for paths and plots."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.4g}{suffix}"
    return f"{value:.4g}"


_LABEL_PREFIXES = {"d_model": "d", "n_layer": "L", "n_head": "h", "width": "w", "depth": "L", "target_params": "p"}


def size_label(size: dict) -> str:
    """A short readable name from the keys this size sets: {d_model: 64, n_layer: 4} -> 'd64-L4'."""
    parts = []
    for key in sorted(size, key=lambda k: (list(_LABEL_PREFIXES).index(k) if k in _LABEL_PREFIXES else 99, k)):
        value = human_count(size[key]) if key == "target_params" else size[key]
        parts.append(f"{_LABEL_PREFIXES.get(key, key)}{value}")
    return "-".join(parts)


def sweep_dataset(sweep: dict, config: dict) -> dict:
    """The dataset fields every run of a sweep shares: dataset, dataset_id, dataset_params, budget_unit. A command
    sweep without a dataset has none (its budget_unit is its own, samples by default)."""
    if "dataset" not in sweep:
        return {"dataset": None, "dataset_id": None, "dataset_params": None,
                "budget_unit": sweep.get("budget_unit", "samples")}
    from ..datasets import get_spec

    name = sweep["dataset"]
    block = (config.get("datasets") or {}).get(name) or {}
    try:
        dataset = get_spec(name, block)
    except ConfigError as error:
        raise ConfigError(f"sweep {sweep['name']!r}: {error}") from None
    params = dataset.params_with_defaults(block)
    return {"dataset": name, "dataset_id": dataset.dataset_id(params), "dataset_params": params,
            "budget_unit": dataset.unit}


def expand_sweep(sweep: dict, config: dict) -> list[dict]:
    data = sweep_dataset(sweep, config)
    command = sweep["trainer"] == "command"
    specs = []
    for size, budget, seed in itertools.product(sweep["sizes"], sweep["budgets"], sweep["seeds"]):
        label = size_label(size)
        spec = {
            "sweep": sweep["name"],
            "trainer": sweep["trainer"],
            "dataset": data["dataset"],
            "dataset_id": data["dataset_id"],
            "dataset_params": data["dataset_params"],
            "model": None if command else sweep["model"],
            "architecture": {**sweep["architecture"], **size},
            "size_label": label,
            "seed": seed,
            "budget": budget,
            "budget_unit": data["budget_unit"],
            "train": sweep["train"],
            "device": config["device"],
            "checkpoint_interval_s": config["checkpoint_interval_s"],
            "keep_checkpoints": config["keep_checkpoints"],
            "on_failure": config["on_failure"],
        }
        if command:
            spec["command"] = sweep["command"]
        if "resources" in sweep:
            spec["resources"] = sweep["resources"]
        spec["run_id"] = run_id(spec)
        spec["run_path"] = f"{sweep['name']}/{label}/{human_count(budget)}-{data['budget_unit']}/seed{seed}"
        specs.append(spec)
    return specs


def expand(config: dict) -> list[dict]:
    """All run specs of a validated study, in config order. Raises ConfigError on clashes."""
    specs = [spec for sweep in config.get("sweeps") or [] for spec in expand_sweep(sweep, config)]
    ids_by_path: dict[str, str] = {}
    for spec in specs:
        path = spec["run_path"]
        if path in ids_by_path:
            why = "lists the same run twice" if ids_by_path[path] == spec["run_id"] else (
                "has two different runs with the same path: give their sizes distinct architectures")
            raise ConfigError(f"sweep {spec['sweep']!r} {why} ({path!r})")
        ids_by_path[path] = spec["run_id"]
    return specs


def runs_table(specs: list[dict]):
    """The run table as a DataFrame: nested spec blocks flattened into arch_*, train_*, data_* columns."""
    import pandas as pd

    return pd.DataFrame([flatten_spec(spec) for spec in specs])


def flatten_spec(spec: dict) -> dict:
    flat = {}
    for key, value in spec.items():
        if key == "architecture":
            flat.update({f"arch_{k}": v for k, v in value.items()})
        elif key == "train":
            flat.update({f"train_{k}": _scalar(v) for k, v in value.items()})
        elif key == "dataset_params":
            flat.update({f"data_{k}": _scalar(v) for k, v in (value or {}).items()})
        elif key == "resources":
            flat.update({f"resources_{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _scalar(value):
    # parquet columns need one type; short lists such as betas become their JSON text.
    return canonical_json(value) if isinstance(value, (list, dict)) else value
