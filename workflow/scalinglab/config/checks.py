"""The checks a JSON Schema cannot express, run after it (defaults filled in), before any job. Each raises one
ConfigError that names the key path, the bad value and what is allowed (with a "did you mean" for near misses).

`check_study(config)` needs only the config. This module holds the study-wide checks (names, fit blocks, laws, fit
columns, enough distinct points per law) and runs them with those of the datasets (`dataset_checks`), the sweeps
(`sweep_checks`) and the targets (`targets`). `table_checks.check_runs(config, specs, root)` checks what the run table
and the directory snakemake runs in add.
"""

from __future__ import annotations

from .dataset_checks import check_datasets, dataset_of
from .errors import ConfigError
from .identity import canonical_json
from .sweep_checks import check_cells_in_pool, check_sweeps
from .validate import did_you_mean, key_path, problem_error, unknown_key_message

# x columns that vary with the model's size, and with the data a run sees: they decide how many distinct points a
# sweep gives a law (sizes, budgets, or (size, budget) pairs).
SIZE_COLUMNS = ("n_params", "n_params_nonembedding")


DATA_COLUMNS = ("budget", "tokens_seen", "samples_seen", "tokens", "samples", "compute_budget")


def check_study(config: dict) -> None:
    from .targets import check_targets

    # the columns before the points: the distinct points are counted along fit.x
    for check in (check_unique_names, check_fit_blocks, check_laws, check_datasets, check_sweeps, check_fit_columns,
                  check_points, check_targets):
        check(config)


def blocks(config: dict):
    """(key path, block) of every sweep and external entry: the things that are fitted and reported."""
    for key in ("sweeps", "external"):
        for i, block in enumerate(config.get(key) or []):
            yield [key, i], block


def check_unique_names(config: dict) -> None:
    seen = {}
    for path, block in blocks(config):
        name = block["name"]
        if name in seen:
            raise ConfigError(f"{key_path([*path, 'name'])}: {name!r} is already the name of {key_path(seen[name])}; "
                              "every sweep and external entry needs its own name", [*path, "name"])
        seen[name] = path


def check_fit_blocks(config: dict) -> None:
    """A sweep's (or external entry's) own `fit` block overrides the study's `fit` key by key: the same keys, the
    same allowed values, and no defaults of its own (they would mask the study's)."""
    import jsonschema

    from .schema import properties

    allowed = properties("fit")
    for path, block in blocks(config):
        overrides = block.get("fit") or {}
        where = [*path, "fit"]
        for key in overrides:
            if key not in allowed:
                raise ConfigError(unknown_key_message(where, key, allowed), [*where, key])
        schema = {"type": "object", "properties": {key: allowed[key] for key in overrides}}
        for problem in jsonschema.Draft202012Validator(schema).iter_errors(overrides):
            raise problem_error(problem, where)


def fit_sources(config: dict):
    """(key path of the fit block that sets `laws`, block name or None, laws) for the study and every entry."""
    yield ["fit"], None, (config.get("fit") or {}).get("laws") or []
    for path, block in blocks(config):
        if "laws" in (block.get("fit") or {}):
            yield [*path, "fit"], block["name"], block["fit"]["laws"]


def check_laws(config: dict) -> None:
    from ..laws import LAWS

    for where, _, laws in fit_sources(config):
        for i, law in enumerate(laws):
            if law in laws[:i]:
                raise ConfigError(f"{key_path([*where, 'laws', i])}: law {law!r} is listed twice (also "
                                  f"laws[{laws.index(law)}]); each law is fitted once", [*where, "laws", i])
            if law not in LAWS:
                raise ConfigError(f"{key_path([*where, 'laws', i])}: unknown law {law!r}{did_you_mean(law, LAWS)}; "
                                  f"known laws: {', '.join(LAWS)} (scalinglab laws describes them)",
                                  [*where, "laws", i])


def check_points(config: dict) -> None:
    """A law needs as many distinct points as it has parameters, and one x column per input."""
    from ..laws import LAWS
    from .runs import expand_sweep
    from .study import fit_settings

    cells = {}  # IsoFLOP sweeps: the (size, compute budget) cells they train, skipped ones left out
    for i, sweep in enumerate(config.get("sweeps") or []):
        if "compute_budgets" in sweep:
            specs, _ = expand_sweep(sweep, config, ["sweeps", i])
            cells[sweep["name"]] = {(spec["size_label"], spec["compute_budget"]) for spec in specs}
            check_cells_in_pool(config, sweep, ["sweeps", i], specs)
            if not specs:
                raise ConfigError(f"sweeps[{i}].tokens_per_param: skips every (size, compute budget) cell of sweep "
                                  f"{sweep['name']!r}; widen it, or change the sizes or compute budgets",
                                  ["sweeps", i, "tokens_per_param"])
    for i, sweep in enumerate(config.get("sweeps") or []):
        settings = fit_settings(config, sweep["name"])
        x_columns = [column.strip() for column in str(settings["x"]).split(",") if column.strip()]
        x_where = ["sweeps", i, "fit", "x"] if "x" in (sweep.get("fit") or {}) else ["fit", "x"]
        laws_where = ["sweeps", i, "fit", "laws"] if "laws" in (sweep.get("fit") or {}) else ["fit", "laws"]
        for law_name in settings["laws"]:
            law = LAWS[law_name]
            if len(x_columns) != len(law.inputs):
                raise ConfigError(f"{key_path(x_where)}: law {law_name!r} takes {len(law.inputs)} input(s) "
                                  f"({', '.join(law.inputs)}) but x names {len(x_columns)} ({settings['x']}); give "
                                  "one column per input, comma-separated", x_where)
            points, what = distinct_points(sweep, x_columns, cells.get(sweep["name"]))
            if points < law.n_params:
                raise ConfigError(f"{key_path(laws_where)}: law {law_name!r} has {law.n_params} parameters but sweep "
                                  f"{sweep['name']!r} gives {points} distinct {what} (x = {settings['x']}); add "
                                  "sizes or budgets, or fit a law with fewer parameters (scalinglab laws)", laws_where)


def unknown_fit_columns(config: dict):
    """(key path, sweep, column, known columns) of every `fit.x`/`fit.y` column a sweep's runs will not have, as far
    as it is known before they run (scalinglab.config.columns)."""
    from .columns import metric_columns, spec_columns
    from .study import fit_settings

    for i, sweep in enumerate(config.get("sweeps") or []):
        params = unit = task = None
        if "dataset" in sweep:
            block = (config.get("datasets") or {}).get(sweep["dataset"]) or {}
            dataset = dataset_of(config, sweep["dataset"], ["sweeps", i, "dataset"])
            params = dataset.params_with_defaults(block)
            unit, task = dataset.unit, getattr(dataset, "task", None)  # a user file's task may be inferred: None
        known = spec_columns(sweep, params) | metric_columns(sweep, unit, task)
        settings = fit_settings(config, sweep["name"])
        for key in ("x", "y"):
            where = ["sweeps", i, "fit", key] if key in (sweep.get("fit") or {}) else ["fit", key]
            for column in (c.strip() for c in str(settings[key]).split(",")):
                if column and column not in known:
                    yield where, sweep, column, known


def check_fit_columns(config: dict) -> None:
    """`fit.x` and `fit.y` name columns the runs of the built-in trainer write (docs/metrics.md); a typo would fail
    only after every run trained."""
    from .columns import BUILTIN_METRICS

    for where, sweep, column, known in unknown_fit_columns(config):
        if sweep["trainer"] == "command":
            continue
        if column in BUILTIN_METRICS:  # a metric, but not of runs on this sweep's data
            raise ConfigError(f"{key_path(where)}: sweep {sweep['name']!r}'s runs do not write {column!r} on its data "
                              f"{sweep.get('dataset')!r}{did_you_mean(column, known)}: docs/metrics.md writes "
                              "tokens_seen or samples_seen by the data's budget unit, no accuracies for a regression, "
                              "no train_eval_loss or train_accuracy for a language model", where)
        raise ConfigError(f"{key_path(where)}: {column!r} is not a column of sweep {sweep['name']!r}'s runs"
                          f"{did_you_mean(column, known)}; metrics.parquet columns are the metrics of "
                          "docs/metrics.md (final_val_loss, test_loss_at_best_val, n_params, "
                          "n_params_nonembedding, tokens_seen, flops_6nd, ...) and the run spec's (budget, seed, "
                          "arch_*, train_*, data_*)", where)


def fit_column_warnings(config: dict) -> list[str]:
    """A command sweep's script may write metrics of its own: a column no contract names is allowed, and said."""
    return [f"{key_path(where)}: {column!r} is not a metric of the command trainer's contract"
            f"{did_you_mean(column, known)}; sweep {sweep['name']!r}'s script must write it to metrics.json "
            "(checked when its runs are fitted)"
            for where, sweep, column, known in unknown_fit_columns(config) if sweep["trainer"] == "command"]


def distinct_points(sweep: dict, x_columns: list[str], cells=None) -> tuple[int, str]:
    """How many distinct x values a sweep gives, and of what. `cells`: the (size label, budget) pairs it trains
    (an IsoFLOP sweep skips some), by default every size with every budget."""
    if cells is None:
        cells = {(canonical_json(size), budget) for size in sweep["sizes"] for budget in sweep["budgets"]}
    if all(column in SIZE_COLUMNS for column in x_columns):
        return len({size for size, _ in cells}), "size(s)"
    if all(column in DATA_COLUMNS for column in x_columns):
        return len({budget for _, budget in cells}), "budget(s)"
    return len(cells), "(size, budget) point(s)"

