"""The run table: a validated study expanded into one run spec per (sweep, size, budget, grid value, seed), and
one per (target, seed).

- `budgets` give each run its data budget; `compute_budgets` give its training compute C instead, and the run
  trains on D = C / (6 N6) units, N6 being the per-unit count `flops_6nd` uses (scalinglab.flops), rounded to whole
  optimizer steps; a (size, C) cell outside `tokens_per_param` is skipped (`skipped_cells` says why);
- `grid` trains every value (every combination, with several keys) at every (size, budget, seed);
- `targets` are runs of role `target`, run_path `{sweep}/targets/{name}/seed{n}`; a grid sweep's target trains
  the grid value its prediction chose, so its identity leaves the grid out.
"""

from __future__ import annotations

import itertools

from .errors import ConfigError
from .identity import canonical_json, run_id

# The config keys that decide which runs a study has (what the aggregate step needs to list them). The operational
# keys are not among them: changing them changes no run.
RUN_TABLE_KEYS = ("device", "datasets", "sweeps", "targets")


def run_table_config(config: dict) -> dict:
    return {key: config[key] for key in RUN_TABLE_KEYS if key in config}


def run_paths(table_config: dict, role: str | None = "ladder") -> list[str]:
    """The run paths of a study from its run-table keys (run_table_config), in config order: its ladder runs (the
    ones metrics.parquet holds), its targets (`role="target"`) or all (None)."""
    from .schema import defaults

    specs = expand({**defaults(), **table_config}, ids=False)
    return [spec["run_path"] for spec in specs if role is None or spec["role"] == role]


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


def compute_label(compute_budget: float) -> str:
    """2e11 -> 'C2e+11': the budget part of an IsoFLOP run's path."""
    return f"C{compute_budget:.4g}"


def grid_label(values: dict) -> str:
    """{lr: 0.01} -> 'lr0.01'; several keys joined by '-' (lists and mappings as compact JSON)."""
    def text(value):
        return f"{value:.6g}" if isinstance(value, float) else (
            canonical_json(value) if isinstance(value, (list, dict)) else str(value))

    return "-".join(f"{key}{text(value)}" for key, value in values.items())


def grid_points(sweep: dict) -> list[dict]:
    """Every combination of a sweep's grid values, in config order ([{}] without a grid)."""
    grid = sweep.get("grid") or {}
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


class Cell:
    """One (size, budget) of a sweep: the data budget a compute budget buys, or why the cell is skipped."""

    def __init__(self, budget: int, compute_budget: float | None = None, skipped: str | None = None,
                 tokens_per_param: float | None = None):
        self.budget, self.compute_budget, self.skipped = budget, compute_budget, skipped
        self.tokens_per_param = tokens_per_param


def per_unit_flops(model: str, architecture: dict, data: dict, where: list) -> tuple[float, int, dict]:
    """(6 N6, n_params_nonembedding, resolved architecture): the training FLOPs per unit (token or sample) that
    `flops_6nd` counts, and the non-embedding size, before the run (built-in families in closed form, a user family
    by its count_params hook). Raises ConfigError when the model's size is not known before it trains."""
    from .. import models
    from ..datasets import get_spec
    from ..flops import flops_6nd
    from .validate import key_path

    if model is None or data["dataset"] is None:
        raise ConfigError(f"{key_path(where)}: a compute budget needs the model's size before it trains: a sweep of "
                          "the built-in trainer (a command's script counts its own parameters)", where)
    meta = get_spec(data["dataset"], data["dataset_params"]).shape_meta(data["dataset_params"])
    if meta is None:
        raise ConfigError(f"{key_path(where)}: a compute budget needs the model's size before it trains, and the "
                          f"shapes of dataset {data['dataset']!r} are known only once it is prepared; give budgets "
                          "instead", where)
    try:
        resolved = models.resolve(model, architecture, meta)
        counts = models.count_params(model, resolved, meta)
    except (ValueError, KeyError) as error:
        raise ConfigError(f"{key_path(where)}: {error}", where) from None
    if counts is None:
        raise ConfigError(f"{key_path(where)}: a compute budget needs the model's size before it trains: give the "
                          f"family {model!r} a count_params(architecture, meta) hook (docs/extending.md), or give "
                          "budgets", where)
    return flops_6nd(model, resolved, *counts, 1.0), counts[1], resolved


def compute_cell(sweep: dict, size: dict, compute_budget: float, data: dict, where: list, bounds=None) -> Cell:
    """The data budget that spends `compute_budget` FLOPs (flops_6nd) on this architecture, in whole optimizer
    steps, or a skipped cell when its tokens per parameter fall outside `bounds`."""
    from ..trainers.settings import train_settings, units_per_step
    from .validate import key_path

    architecture = {**sweep["architecture"], **size}
    unit_flops, non_embedding, resolved = per_unit_flops(sweep.get("model"), architecture, data, where)
    units = compute_budget / unit_flops
    tokens_per_param = units / max(1, non_embedding)
    if bounds is not None and not bounds[0] <= tokens_per_param <= bounds[1]:
        what = "tokens" if data["budget_unit"] == "tokens" else "samples"
        return Cell(0, compute_budget, f"{tokens_per_param:.3g} {what} per parameter, outside tokens_per_param "
                    f"[{bounds[0]:g}, {bounds[1]:g}]", tokens_per_param)
    train = train_settings({"train": sweep["train"]})
    per_step = units_per_step(train, data["budget_unit"], resolved.get("context"))
    steps = round(units / per_step)
    if steps < 1:
        raise ConfigError(f"{key_path(where)}: {compute_budget:.3g} FLOPs buy {units:.3g} {data['budget_unit']} at "
                          f"size {size_label(size)}, less than one optimizer step ({per_step} "
                          f"{data['budget_unit']}); raise the compute budget, or set tokens_per_param to skip such "
                          "cells", where)
    if data["budget_unit"] == "tokens":
        budget = steps * per_step
    else:  # samples: steps = ceil(budget x epochs / batch) (scalinglab.trainers.settings.count_steps)
        budget = max(1, round(steps * per_step / float(train["epochs"])))
    return Cell(int(budget), compute_budget, None, steps * per_step / max(1, non_embedding))


def sweep_cells(sweep: dict, size: dict, data: dict, where: list) -> list[Cell]:
    """The (size, budget) cells of one size: its budgets, or what its compute budgets buy."""
    if "compute_budgets" not in sweep:
        return [Cell(budget) for budget in sweep["budgets"]]
    return [compute_cell(sweep, size, c, data, [*where, "compute_budgets", k], sweep.get("tokens_per_param"))
            for k, c in enumerate(sweep["compute_budgets"])]


def base_spec(sweep: dict, data: dict) -> dict:
    """What every run of a sweep shares."""
    model = None if sweep["trainer"] == "command" else sweep["model"]
    return {"role": "ladder", "target": None, "sweep": sweep["name"], "trainer": sweep["trainer"], **data,
            "model": model}


def make_spec(base: dict, sweep: dict, config: dict, size: dict, seed: int, cell: Cell, grid: dict) -> dict:
    spec = {
        **base,
        "architecture": {**sweep["architecture"], **size},
        "size_label": size_label(size),
        "seed": seed,
        "budget": cell.budget,
        "budget_unit": base["budget_unit"],
        "compute_budget": cell.compute_budget,
        "grid": grid,
        "train": {**sweep["train"], **grid},
        "device": config["device"],
        "checkpoint_interval_s": config["checkpoint_interval_s"],
        "keep_checkpoints": config["keep_checkpoints"],
        "on_failure": config["on_failure"],
    }
    if sweep["trainer"] == "command":
        spec["command"] = sweep["command"]
    if "resources" in sweep:
        spec["resources"] = sweep["resources"]
    return spec


def budget_label(cell: Cell, unit: str) -> str:
    """The budget part of a run's path: 'C2e+11' (a compute budget) or '2M-tokens'."""
    if cell.compute_budget is not None:
        return compute_label(cell.compute_budget)
    return f"{human_count(cell.budget)}-{unit}"


def expand_sweep(sweep: dict, config: dict, where: list | None = None) -> tuple[list[dict], list[dict]]:
    """(run specs, skipped cells) of one sweep (`where`: its key path, for errors)."""
    data = sweep_dataset(sweep, config)
    base = base_spec(sweep, data)
    specs, skipped = [], []
    for size in sweep["sizes"]:
        for cell in sweep_cells(sweep, size, data, where or ["sweeps", sweep["name"]]):
            if cell.skipped:
                skipped.append({"sweep": sweep["name"], "size_label": size_label(size),
                                "compute_budget": cell.compute_budget, "tokens_per_param": cell.tokens_per_param,
                                "reason": cell.skipped})
                continue
            for grid, seed in itertools.product(grid_points(sweep), sweep["seeds"]):
                spec = make_spec(base, sweep, config, size, seed, cell, grid)
                parts = [sweep["name"], spec["size_label"], budget_label(cell, data["budget_unit"])]
                parts += [grid_label(grid)] if grid else []
                spec["run_path"] = "/".join([*parts, f"seed{seed}"])
                specs.append(spec)
    return specs, skipped


def expand_target(target: dict, sweep: dict, config: dict, where: list) -> list[dict]:
    """The runs of one target: role target, the sweep's settings at the target's size and budget, one per seed.
    A grid sweep's target trains the value its prediction chose (read at train time), so its identity has no
    grid."""
    data = sweep_dataset(sweep, config)
    base = {**base_spec(sweep, data), "role": "target", "target": target["name"]}
    size = target["size"]
    if "compute_budget" in target:
        cell = compute_cell(sweep, size, target["compute_budget"], data, [*where, "compute_budget"])
    else:
        cell = Cell(target["budget"])
    specs = []
    for seed in target.get("seeds") or sweep["seeds"][:1]:
        spec = make_spec(base, sweep, config, size, seed, cell, {})
        spec["run_path"] = f"{sweep['name']}/targets/{target['name']}/seed{seed}"
        specs.append(spec)
    return specs


def expand_with_skipped(config: dict, ids: bool = True) -> tuple[list[dict], list[dict]]:
    """(every run spec of a validated study in config order, ladder then targets; the skipped cells of IsoFLOP
    sweeps, each {sweep, size_label, compute_budget, tokens_per_param, reason}). Raises ConfigError on clashes.
    ids=False leaves run_id out (listing run paths does not need the hashes)."""
    specs, skipped = [], []
    sweeps = {sweep["name"]: sweep for sweep in config.get("sweeps") or []}
    for i, sweep in enumerate(config.get("sweeps") or []):
        runs, cells = expand_sweep(sweep, config, ["sweeps", i])
        specs += runs
        skipped += cells
    for i, target in enumerate(config.get("targets") or []):
        if target["sweep"] in sweeps:  # targets of external data are rows of its CSV
            specs += expand_target(target, sweeps[target["sweep"]], config, ["targets", i])
    if ids:
        for spec in specs:
            spec["run_id"] = run_id(spec)
    by_path: dict[str, dict] = {}
    for spec in specs:
        path = spec["run_path"]
        if path in by_path:
            same = run_id(by_path[path]) == run_id(spec)
            why = "lists the same run twice" if same else (
                "has two different runs with the same path: give their sizes distinct architectures")
            raise ConfigError(f"sweep {spec['sweep']!r} {why} ({path!r})")
        by_path[path] = spec
    return specs, skipped


def expand(config: dict, ids: bool = True) -> list[dict]:
    """Every run spec of a validated study, in config order (ladder, then targets). Raises ConfigError on clashes.
    ids=False leaves run_id out."""
    return expand_with_skipped(config, ids)[0]


def skipped_cells(config: dict) -> list[dict]:
    """The (size, compute budget) cells of IsoFLOP sweeps that `tokens_per_param` skips, with the reason."""
    return expand_with_skipped(config)[1]


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
        elif key == "grid":
            flat.update({f"grid_{k}": _scalar(v) for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _scalar(value):
    # parquet columns need one type; short lists such as betas become their JSON text.
    return canonical_json(value) if isinstance(value, (list, dict)) else value
