"""Targets: named larger runs of a sweep, predicted from its ladder before they train, then scored.

`check_targets(config)` refuses, before any job, a target naming an unknown sweep, a target of a trained sweep
without a size or with both or neither of budget and compute_budget, a size its family cannot build, a law the sweep
does not fit, and an x column of the fit that is not known before the target trains. `target_point(spec, x)` is the
target's x ({column: value}) computed the way training will count it, without training (torch-free for the built-in
families; a user family's count_params hook). External (CSV) data declares targets by `match: {column: value}`: the
matching rows are held out of the ladder (`scalinglab.external`).
"""

from __future__ import annotations

from .errors import ConfigError
from .validate import did_you_mean, key_path

TRAINED_KEYS = ("size", "budget", "compute_budget", "seeds")


def check_targets(config: dict) -> None:
    from .study import fitted_blocks

    blocks = fitted_blocks(config)
    sweeps = {sweep["name"] for sweep in config.get("sweeps") or []}
    seen = {}
    for i, target in enumerate(config.get("targets") or []):
        where = ["targets", i]
        name = target["name"]
        if name in seen:
            raise ConfigError(f"{key_path([*where, 'name'])}: {name!r} is already the name of targets[{seen[name]}]; "
                              "every target needs its own name (its prediction is predictions/NAME.json)",
                              [*where, "name"])
        seen[name] = i
        if target["sweep"] not in blocks:
            raise ConfigError(f"{key_path([*where, 'sweep'])}: unknown sweep {target['sweep']!r}"
                              f"{did_you_mean(target['sweep'], blocks)}; the study's sweeps: {', '.join(blocks)}",
                              [*where, "sweep"])
        if target["sweep"] in sweeps:
            _check_trained_target(config, target, where)
        else:
            _check_external_target(target, where)
        _check_law(config, target, where)


def _check_trained_target(config: dict, target: dict, where: list) -> None:
    if "match" in target:
        raise ConfigError(f"{key_path([*where, 'match'])}: `match` picks rows of external data; a target of the "
                          f"trained sweep {target['sweep']!r} gives a size and a budget or compute_budget",
                          [*where, "match"])
    if "size" not in target:
        raise ConfigError(f"{key_path(where)}: target {target['name']!r} has no `size` (the architecture keys of its "
                          "larger run, merged over the sweep's architecture, e.g. {d_model: 256})", where)
    has = [key for key in ("budget", "compute_budget") if key in target]
    if len(has) != 1:
        what = "has both" if has else "has neither"
        raise ConfigError(f"{key_path(where)}: target {target['name']!r} {what} `budget` and `compute_budget`; give "
                          "one, so that its run is known before it trains", [*where, has[-1]] if has else where)
    if "compute_budget" in target:
        from .sweep_checks import check_finite_flops

        check_finite_flops(target["compute_budget"], [*where, "compute_budget"])
    from .. import models

    sweep = next(s for s in config["sweeps"] if s["name"] == target["sweep"])
    architecture = {**sweep["architecture"], **target["size"]}
    if sweep["trainer"] != "command" and sweep["model"] in models.BUILTIN:
        from ..datasets import get_spec

        block = (config.get("datasets") or {}).get(sweep["dataset"]) or {}
        meta = get_spec(sweep["dataset"], block).shape_meta(block)
        if meta is not None:
            try:
                models.resolve(sweep["model"], architecture, meta)
            except (ValueError, KeyError) as error:
                raise ConfigError(f"{key_path([*where, 'size'])}: sweep {sweep['name']!r} cannot build this size: "
                                  f"{error}", [*where, "size"]) from None


def _check_external_target(target: dict, where: list) -> None:
    given = [key for key in TRAINED_KEYS if key in target]
    if given:
        raise ConfigError(f"{key_path([*where, given[0]])}: {target['sweep']!r} is external data: its target is rows "
                          "of its CSV, picked by `match: {column: value}`, not a run to train", [*where, given[0]])
    if "match" not in target:
        raise ConfigError(f"{key_path(where)}: target {target['name']!r} of external data {target['sweep']!r} needs "
                          "`match: {column: value}`, the rows it holds out of the ladder", where)


def _check_law(config: dict, target: dict, where: list) -> None:
    from .study import fit_settings

    laws = fit_settings(config, target["sweep"])["laws"]
    if "law" in target and target["law"] not in laws:
        raise ConfigError(f"{key_path([*where, 'law'])}: sweep {target['sweep']!r} fits {', '.join(laws)}, not "
                          f"{target['law']!r}{did_you_mean(target['law'], laws)}", [*where, "law"])


def target_law(config: dict, target: dict) -> str:
    """The law whose fit predicts a target: its own `law`, else the sweep's first."""
    from .study import fit_settings

    return target.get("law") or fit_settings(config, target["sweep"])["laws"][0]


def target_point(spec: dict, columns: list[str]) -> dict:
    """A target run's x ({column: value}) as its run will record it, known before it trains. Raises ValueError for a
    column that is known only once it has trained."""
    from .. import resources
    from ..flops import flops_6nd

    values, counts = {}, None
    for column in columns:
        if column in ("n_params", "n_params_nonembedding", "flops_6nd"):
            counts = counts or resources.estimate_params(spec)
            if counts is None:
                raise ValueError(f"{column} of the target's model is known only once it is built: give its family a "
                                 "count_params(architecture, meta) hook (docs/extending.md)")
        if column == "n_params":
            values[column] = float(counts[0])
        elif column == "n_params_nonembedding":
            values[column] = float(counts[1])
        elif column in ("tokens_seen", "samples_seen", "tokens", "samples"):
            values[column] = float(resources.training_units(spec)[0])
        elif column == "flops_6nd":
            units, _ = resources.training_units(spec)
            values[column] = flops_6nd(spec["model"], resources.resolved_architecture(spec), *counts, units)
        elif column in ("budget", "compute_budget", "seed"):
            values[column] = spec[column]
        elif column.startswith("arch_") and column[len("arch_"):] in spec["architecture"]:
            values[column] = spec["architecture"][column[len("arch_"):]]
        elif column.startswith("train_") and column[len("train_"):] in spec["train"]:
            values[column] = spec["train"][column[len("train_"):]]
        else:
            raise ValueError(f"x column {column!r} of a target is known only once it has trained")
    return values


def check_target_points(config: dict, specs: list[dict]) -> None:
    """Every trained target's x is known before it trains (the workflow predicts it first)."""
    from .study import fit_settings

    for i, target in enumerate(config.get("targets") or []):
        spec = next((s for s in specs if s["target"] == target["name"]), None)
        if spec is None:
            continue  # external data
        _check_target_run(config, spec, target, ["targets", i], specs)
        x = fit_settings(config, target["sweep"])["x"]
        try:
            target_point(spec, [column.strip() for column in x.split(",")])
        except (ValueError, KeyError) as error:
            raise ConfigError(f"{key_path(['targets', i])}: target {target['name']!r} cannot be predicted before it "
                              f"trains: {error} (x = {x})", ["targets", i]) from None


def _check_target_run(config: dict, spec: dict, target: dict, where: list, specs: list[dict]) -> None:
    """A target's data budget is at most the training pool, and its run is not one of the ladder's cells (it would
    retrain a ladder run, and its score would measure no extrapolation)."""
    from .identity import canonical_json
    from .sweep_checks import training_pool

    sweep = next(s for s in config["sweeps"] if s["name"] == target["sweep"])
    budget_key = "budget" if "budget" in target else "compute_budget"
    if "dataset" in sweep:
        dataset, pool = training_pool(config, sweep)
        if pool is not None and spec["budget"] > pool:
            bought = "" if budget_key == "budget" else f" ({target['compute_budget']:.3g} FLOPs buy them)"
            raise ConfigError(f"{key_path([*where, budget_key])}: {spec['budget']} {dataset.unit}{bought} is more "
                              f"than the training pool of {dataset.name} ({pool} {dataset.unit} with these "
                              "parameters); a budget subsamples the pool, so it is at most the pool",
                              [*where, budget_key])
    same = canonical_json(spec["architecture"]), spec["budget"]
    if any(s["role"] == "ladder" and s["sweep"] == spec["sweep"] and (canonical_json(s["architecture"]),
                                                                       s["budget"]) == same for s in specs):
        raise ConfigError(f"{key_path(where)}: target {target['name']!r} (size {target['size']}, {budget_key} "
                          f"{target[budget_key]}) is a cell sweep {sweep['name']!r} already trains: it would retrain a "
                          "ladder run and extrapolate nothing; give a larger size or budget", where)


def apply_prediction(spec: dict, prediction: dict) -> dict:
    """A target run's spec as it trains: the grid value its prediction chose (the value that won at the largest
    ladder size) in its `grid` and `train`. Its run_id stays the one the workflow knew before the prediction."""
    choice = prediction.get("grid_choice") or {}
    if prediction.get("target") != spec.get("target"):
        raise ValueError(f"the prediction file is target {prediction.get('target')!r}'s, not {spec.get('target')!r}'s")
    return {**spec, "grid": dict(choice), "train": {**spec["train"], **choice}}


def target_table(config: dict, specs: list[dict], root=".") -> dict[str, dict]:
    """What the workflow needs of each target: {name: {sweep, law, x (its point, known before it trains), run_paths,
    run_ids, grid (the sweep's grid, {} without one), external (True for rows of external data)}}."""
    from .study import fit_settings

    table = {}
    for target in config.get("targets") or []:
        runs = [spec for spec in specs if spec["target"] == target["name"]]
        columns = [column.strip() for column in fit_settings(config, target["sweep"])["x"].split(",")]
        if runs:
            x = target_point(runs[0], columns)
            sweep = next(s for s in config["sweeps"] if s["name"] == target["sweep"])
        else:
            from ..external import target_point as external_point

            x, sweep = external_point(config, target, root), {}
        table[target["name"]] = {
            "sweep": target["sweep"], "law": target_law(config, target), "x": x,
            "run_paths": [spec["run_path"] for spec in runs], "run_ids": [spec["run_id"] for spec in runs],
            "grid": sweep.get("grid") or {}, "external": not runs,
        }
    return table


def wait_until_after(timestamp: str) -> None:
    """Sleep until the clock has passed `timestamp` (ISO 8601 UTC to the second): a target run's `started_at`, to
    the second too, is then strictly later than its prediction's `predicted_at`."""
    import calendar
    import time

    moment = calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))
    while time.time() < moment + 1:
        time.sleep(moment + 1 - time.time())
