"""The checks a JSON Schema cannot express, run after it (defaults filled in), before any job. Each raises one
ConfigError that names the key path, the bad value and what is allowed (with a "did you mean" for near misses).

`check_study(config)` needs only the config; `check_runs(config, specs, root)` checks what the run table and the
directory snakemake runs in (root) add: external files, path lengths; it returns warnings (runs that would take
years at the estimated throughput).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import ConfigError
from .identity import canonical_json
from .validate import did_you_mean, key_path, problem_error, unknown_key_message

# x columns that vary with the model's size, and with the data a run sees: they decide how many distinct points a
# sweep gives a law (sizes, budgets, or (size, budget) pairs).
SIZE_COLUMNS = ("n_params", "n_params_nonembedding")
DATA_COLUMNS = ("budget", "tokens_seen", "samples_seen", "tokens", "samples", "compute_budget")
# Keys of a size entry that give a size: they must be positive whole numbers.
SIZE_KEYS = ("width", "d_model", "target_params", "n_layer", "n_head", "head_dim", "context")
# A run estimated to take longer than this gets a warning with the estimate.
WARN_RUN_SECONDS = 30 * 86400.0


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


def check_sweeps(config: dict) -> None:
    """What each trainer needs (a model and a dataset; a command), the model family's reference and the keys it
    knows, sizes that resolve to a positive size, a command's placeholders, budgets the training pool can give."""
    for i, sweep in enumerate(config.get("sweeps") or []):
        where = ["sweeps", i]
        _check_budget_kind(sweep, where)
        _check_grid(sweep, where)
        if sweep["trainer"] == "command":
            _check_command_sweep(sweep, where)
        else:
            _check_builtin_sweep(config, sweep, where)
        _check_budgets(config, sweep, where)


def _check_budget_kind(sweep: dict, where: list) -> None:
    """budgets or compute_budgets, one of the two; tokens_per_param only with compute_budgets, low <= high; no
    fixed step count under a compute budget (the budget decides the steps)."""
    has = [key for key in ("budgets", "compute_budgets") if key in sweep]
    if len(has) != 1:
        what = "has both" if has else "has neither"
        raise ConfigError(f"{key_path(where)}: sweep {sweep['name']!r} {what} `budgets` and `compute_budgets`; give "
                          "one: data budgets (tokens or samples per run), or compute budgets (FLOPs per run, IsoFLOP)",
                          [*where, has[-1]] if has else where)
    for k, compute_budget in enumerate(sweep.get("compute_budgets") or []):
        check_finite_flops(compute_budget, [*where, "compute_budgets", k])
    if "tokens_per_param" in sweep:
        low, high = sweep["tokens_per_param"]
        if "compute_budgets" not in sweep:
            raise ConfigError(f"{key_path([*where, 'tokens_per_param'])}: skips (size, compute budget) cells; this "
                              "sweep has budgets, not compute_budgets", [*where, "tokens_per_param"])
        if low > high:
            raise ConfigError(f"{key_path([*where, 'tokens_per_param'])}: [{low}, {high}] is [low, high] with low <= "
                              "high", [*where, "tokens_per_param"])
    if "compute_budgets" in sweep and "steps" in sweep["train"]:
        raise ConfigError(f"{key_path([*where, 'train', 'steps'])}: a compute budget decides each run's steps; leave "
                          "train.steps out", [*where, "train", "steps"])


def check_finite_flops(value, where: list) -> None:
    """A compute budget is a finite number of FLOPs (the schema's minimum lets .nan and .inf through)."""
    if not math.isfinite(value):
        raise ConfigError(f"{key_path(where)}: {value} is not a compute budget; allowed: a finite number of FLOPs > 0, "
                          "e.g. 2.0e+10", where)


def _check_grid(sweep: dict, where: list) -> None:
    """Grid keys are train keys (of the built-in trainer's train block; any name for a command's own settings), and
    every value is one the train block allows."""
    import jsonschema

    from .schema import properties

    train = properties("train")
    for key, values in (sweep.get("grid") or {}).items():
        at = [*where, "grid", key]
        if sweep["trainer"] == "command":
            if not key.isidentifier():
                raise ConfigError(f"{key_path(at)}: a grid key is a placeholder of the command, a Python name",
                                  at)
            continue
        if key not in train:
            raise ConfigError(f"{unknown_key_message([*where, 'grid'], key, train)} (a grid varies keys of `train`)",
                              at)
        for k, value in enumerate(values):
            for problem in jsonschema.Draft202012Validator(train[key]).iter_errors(value):
                raise ConfigError(f"{key_path([*at, k])}: {problem.message} (the values train.{key} allows)",
                                  [*at, k])


def _refuse(sweep: dict, where: list, key: str, why: str) -> None:
    if key in sweep:
        raise ConfigError(f"{key_path([*where, key])}: {why}", [*where, key])


def _check_builtin_sweep(config: dict, sweep: dict, where: list) -> None:
    from .. import models, plugins
    from ..models import sizes as family_sizes

    _refuse(sweep, where, "command", "only a sweep with `trainer: command` runs a command (this one trains `model` "
            "with the built-in loop)")
    _refuse(sweep, where, "budget_unit", "the dataset's unit decides (a command sweep without a dataset sets it)")
    for key, what in (("model", "gpt, mlp, path/to/file.py:NAME, package.module:NAME or an entry point of "
                                "scalinglab.models"), ("dataset", "a built-in dataset or one of the study's own")):
        if key not in sweep:
            raise ConfigError(f"{key_path(where)}: sweep {sweep['name']!r} has no `{key}`; the built-in trainer "
                              f"needs one ({what}), or set `trainer: command` to run a script of your own", where)
    try:
        models.check(sweep["model"])
    except plugins.UserCodeError as error:
        message = str(error)
        if ":" not in sweep["model"]:  # a family name: a near miss of a built-in or installed one
            names = [*models.BUILTIN, *plugins.entry_points(models.GROUP)]
            name = repr(sweep["model"])
            message = message.replace(name, name + did_you_mean(sweep["model"], names), 1)
        raise ConfigError(f"{key_path([*where, 'model'])}: {message}", [*where, "model"]) from None
    known_keys = {"gpt": family_sizes.GPT_KEYS, "mlp": family_sizes.MLP_KEYS}
    _check_size_keys(sweep, where, known_keys.get(sweep["model"]))
    dataset = dataset_of(config, sweep["dataset"], [*where, "dataset"])
    meta = dataset.shape_meta((config.get("datasets") or {}).get(sweep["dataset"], {}))
    if sweep["model"] in models.BUILTIN:
        _check_sizes_resolve(sweep, where, meta)
    else:
        _check_sizes_resolve(sweep, where, None)
        _check_user_family(sweep, where, meta)


def _check_user_family(sweep: dict, where: list, meta: dict | None) -> None:
    """Import the user's family (the workflow imports it while it builds the jobs, to size them: an error there would
    be a traceback) and, where the data's shapes are known, call its count_params hook on every size."""
    from .. import models, plugins

    family = models.family(sweep["model"])
    try:
        family.reference  # noqa: B018 -- imports the file or module, and checks NAME is a function or class
        for size in sweep["sizes"] if meta is not None else []:
            family.count_params({**sweep["architecture"], **size}, meta)
    except plugins.UserCodeError as error:
        raise ConfigError(f"{key_path([*where, 'model'])}: {error}", [*where, "model"]) from None


def _check_command_sweep(sweep: dict, where: list) -> None:
    """No model; a command whose placeholders exist for every size, in one flat namespace without clashes."""
    from ..trainers.command import RESERVED, check_command

    _refuse(sweep, where, "model", "a command sweep's script builds its own model: leave `model` out (the "
            "architecture and size keys reach the command as placeholders)")
    if "command" not in sweep:
        raise ConfigError(f"{key_path(where)}: sweep {sweep['name']!r} has `trainer: command` but no `command`, the "
                          "shell command run once per run, e.g. \"python train.py --width {width} --seed {seed} "
                          "--out {out_dir}\"", where)
    if "dataset" in sweep and "budget_unit" in sweep:
        _refuse(sweep, where, "budget_unit", "the dataset's unit decides; budget_unit is for a command sweep "
                "without a dataset")
    _check_size_keys(sweep, where, None)
    _check_sizes_resolve(sweep, where, None)
    for j, size in enumerate(sweep["sizes"]):
        architecture = {**sweep["architecture"], **size}
        try:
            check_command(sweep["command"], architecture, {**sweep["train"], **(sweep.get("grid") or {})},
                          "dataset" in sweep)
        except ValueError as error:
            at = _clash(sweep, where, j, set(RESERVED) | set(architecture)) or [*where, "command"]
            raise ConfigError(f"{key_path(at)}: {error}", at) from None
    _check_command_distinguishes_runs(sweep, where)


def _check_command_distinguishes_runs(sweep: dict, where: list) -> None:
    """A command writes where its run's results go ({out_dir}, or reads {spec}, the run's spec file beside them),
    and, without {spec}, is told everything that varies between runs: runs it cannot tell apart train the same."""
    from ..trainers.command import template_fields

    try:
        fields = set(template_fields(sweep["command"]))
    except ValueError:
        return  # a malformed template: the placeholder check names it
    at = [*where, "command"]
    if not fields & {"out_dir", "spec"}:
        raise ConfigError(f"{key_path(at)}: {sweep['command']!r} has neither {{out_dir}} nor {{spec}}: the command "
                          "must write its metrics.json into {out_dir} (the run's folder, where {spec} also lies)", at)
    if "spec" in fields:
        return
    varying = {key: f"grid.{key}" for key in sweep.get("grid") or {}}
    for size in sweep["sizes"]:
        for key in size:
            if len({canonical_json(s.get(key, sweep["architecture"].get(key))) for s in sweep["sizes"]}) > 1:
                varying.setdefault(key, "sizes")
    if len(sweep.get("budgets") or sweep.get("compute_budgets") or []) > 1:
        varying.setdefault("budget", "budgets")
    if len(sweep["seeds"]) > 1:
        varying.setdefault("seed", "seeds")
    unused = [key for key in varying if key not in fields]
    if unused:
        raise ConfigError(f"{key_path(at)}: {sweep['command']!r} uses neither {{{unused[0]}}} nor {{spec}}, but "
                          f"{unused[0]} varies between runs ({varying[unused[0]]}): those runs would be identical; "
                          f"pass it, e.g. --{unused[0]} {{{unused[0]}}}, or read the run's spec file {{spec}}", at)


def _clash(sweep: dict, where: list, j: int, taken: set) -> list | None:
    """The key path of the architecture, size or train key that clashes with a placeholder name, or None."""
    from ..trainers.command import RESERVED

    size = sweep["sizes"][j]
    for key in size:
        if key in RESERVED:
            return [*where, "sizes", j, key]
    for key in sweep["architecture"]:
        if key in RESERVED:
            return [*where, "architecture", key]
    for block in ("train", "grid"):
        for key in sweep.get(block) or {}:
            if key in taken:
                return [*where, block, key]
    return None


def _check_budgets(config: dict, sweep: dict, where: list) -> None:
    """Sample budgets within the training pool where it is known from the parameters (built-in datasets); the
    study's own data is checked when prepared, before any training job."""
    if "dataset" not in sweep:
        return
    dataset = dataset_of(config, sweep["dataset"], [*where, "dataset"])
    params = (config.get("datasets") or {}).get(sweep["dataset"], {})
    pool = dataset.pool_size(params)
    for k, budget in enumerate(sweep.get("budgets") or []):
        if pool is not None and budget > pool:
            raise ConfigError(f"{key_path([*where, 'budgets', k])}: {budget} {dataset.unit} is more than the "
                              f"training pool of {dataset.name} ({pool} {dataset.unit} with these parameters); "
                              "a budget subsamples the pool, so it is at most the pool", [*where, "budgets", k])


def training_pool(config: dict, sweep: dict):
    """(the sweep's dataset, its training pool in the dataset's unit, or None where known only once prepared)."""
    dataset = dataset_of(config, sweep["dataset"], ["dataset"])
    return dataset, dataset.pool_size((config.get("datasets") or {}).get(sweep["dataset"], {}))


def _check_cells_in_pool(config: dict, sweep: dict, where: list, specs: list[dict]) -> None:
    """The data budget each compute budget buys is at most the training pool (a budget subsamples the pool)."""
    if "dataset" not in sweep:
        return
    dataset, pool = training_pool(config, sweep)
    if pool is None:
        return
    for spec in specs:
        if spec["budget"] > pool:
            at = [*where, "compute_budgets", sweep["compute_budgets"].index(spec["compute_budget"])]
            raise ConfigError(f"{key_path(at)}: {spec['compute_budget']:.3g} FLOPs buy {spec['budget']:.4g} "
                              f"{dataset.unit} at size {spec['size_label']}, more than the training pool of "
                              f"{dataset.name} ({pool} {dataset.unit} with these parameters); a budget subsamples the "
                              "pool: lower the compute budget, or skip such cells with tokens_per_param", at)


def _check_size_keys(sweep: dict, where: list, keys) -> None:
    """Keys the family knows (None: any), and size-giving values that are whole numbers >= 1."""
    entries = [([*where, "architecture"], sweep["architecture"])]
    entries += [([*where, "sizes", j], size) for j, size in enumerate(sweep["sizes"])]
    for at, entry in entries:
        for key, value in entry.items():
            if keys is not None and key not in keys:
                raise ConfigError(unknown_key_message(at, key, keys), [*at, key])
            if key in SIZE_KEYS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{key_path([*at, key])}: {value!r} is not a size; {key} is a whole number >= 1",
                                  [*at, key])


def _check_sizes_resolve(sweep: dict, where: list, meta: dict | None) -> None:
    """Every size listed once and, where the data's shapes are known before it is prepared (meta), resolved by its
    built-in family to a model with parameters. An error every size shares comes from the shared architecture, and
    is reported there. A user family, or a command, resolves its sizes itself."""
    from .. import models

    seen, errors, models_seen = {}, [], {}
    for j, size in enumerate(sweep["sizes"]):
        key = canonical_json(size)
        if key in seen:
            raise ConfigError(f"{key_path([*where, 'sizes', j])}: {size} is listed twice (also sizes[{seen[key]}])",
                              [*where, "sizes", j])
        seen[key] = j
        if meta is None:
            continue
        try:
            resolved = models.resolve(sweep["model"], {**sweep["architecture"], **size}, meta)
            n_params, _ = models.count_params(sweep["model"], resolved)
            errors.append(None if n_params >= 1 else "resolves to a model without parameters")
            same = models_seen.setdefault(canonical_json(resolved), j)
            if same != j and n_params >= 1:
                errors[-1] = (f"{size} resolves to the same model as sizes[{same}] ({sweep['sizes'][same]}), "
                              f"{_resolved_words(sweep['model'], resolved)} with {n_params} parameters: its runs would "
                              "repeat that size's; give sizes that differ once resolved")
        except KeyError as error:  # a shape of the data the family needs and this data has not
            errors.append(_missing_shape(sweep, error.args[0]))
        except ValueError as error:
            errors.append(str(error))
    failed = [(j, message) for j, message in enumerate(errors) if message]
    if failed and len(failed) == len(errors) and len(set(errors)) == 1:
        raise ConfigError(f"{key_path([*where, 'architecture'])}: {errors[0]}", [*where, "architecture"])
    if failed:
        j, message = failed[0]
        raise ConfigError(f"{key_path([*where, 'sizes', j])}: {message}", [*where, "sizes", j])


def _resolved_words(model: str, resolved: dict) -> str:
    keys = {"gpt": ("d_model", "n_layer", "n_head"), "mlp": ("width", "depth")}.get(model, tuple(resolved))
    return ", ".join(f"{key} {resolved[key]}" for key in keys if key in resolved)


# What each shape of the data a built-in family sizes itself by means.
SHAPE_WORDS = {"n_features": "feature vectors (a classification or regression dataset)",
               "vocab_size": "a vocabulary of tokens (a text dataset)"}


def _missing_shape(sweep: dict, key) -> str:
    needs = SHAPE_WORDS.get(key, f"the data's {key!r}")
    return (f"model {sweep['model']!r} cannot train on dataset {sweep['dataset']!r}: {sweep['model']} takes {needs}, "
            f"and {sweep['dataset']!r} has no {key}; pick a dataset of that kind, or another model")


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
            _check_cells_in_pool(config, sweep, ["sweeps", i], specs)
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


def check_runs(config: dict, specs: list[dict], root: str | Path = ".") -> list[str]:
    """External CSVs that exist and have their columns (and the rows their targets match), targets whose x is known
    before they train, names the file system can hold (each path component, and the longest whole path), then
    warnings."""
    from ..external import check_files, check_ladder_points
    from ..external import check_targets as check_external_targets
    from .paths import StudyPaths
    from .targets import check_target_points

    root = Path(root).resolve()
    check_files(config, root)
    check_external_targets(config, root)
    check_ladder_points(config, root)
    check_target_points(config, specs)
    name_max = os.pathconf(root, "PC_NAME_MAX")
    path_max = os.pathconf(root, "PC_PATH_MAX")
    paths = StudyPaths(config["study"])
    longest = ""
    for spec in specs:
        for component in spec["run_path"].split("/"):
            if len(component.encode()) > name_max:
                what, at = _named_by(config, spec, component)
                raise ConfigError(f"{key_path(at)}: the path component {component[:40]!r}... of run "
                                  f"{spec['run_path'][:60]!r}... is {len(component.encode())} bytes; this file system "
                                  f"allows {name_max}: shorten {what}", at)
        for path in (paths.run_file(spec["run_path"]), f"{paths.logs}/train/{spec['run_path']}.log"):
            longest = max(longest, path, key=len)
    if len(config["study"].encode()) > name_max:
        raise ConfigError(f"study: the name is {len(config['study'].encode())} bytes; this file system allows "
                          f"{name_max}", ["study"])
    whole = len(str(root / longest).encode())
    if whole >= path_max:
        raise ConfigError(f"the longest path of the study, {longest[:80]!r}..., is {whole} bytes under {root}; this "
                          f"file system allows {path_max - 1}: shorten the study or sweep names", ["study"])
    return fit_column_warnings(config) + context_warnings(config, specs) + runtime_warnings(specs)


# A GPT whose position embeddings outnumber the rest of its parameters this many times is mostly a lookup table of
# positions: a context far beyond what its data and size use (and, beyond a split of the text, runs that fail).
WARN_POSITION_RATIO = 10.0


def context_warnings(config: dict, specs: list[dict]) -> list[str]:
    """A warning for every GPT sweep whose context gives a size WARN_POSITION_RATIO times more position parameters
    than the rest of the model."""
    from .. import resources

    warned, warnings = set(), []
    for spec in specs:
        if spec.get("model") != "gpt" or spec["sweep"] in warned:
            continue
        try:
            resolved, counts = resources.sizing(spec)
        except (ValueError, KeyError):
            continue  # a size that does not resolve: refused by the study's checks
        if resolved is None or counts is None:
            continue
        positions = resolved["context"] * resolved["d_model"]
        others = counts[0] - positions
        if positions > WARN_POSITION_RATIO * max(1, others):
            warned.add(spec["sweep"])
            i = next(i for i, sweep in enumerate(config["sweeps"]) if sweep["name"] == spec["sweep"])
            warnings.append(f"sweeps[{i}].architecture.context: {resolved['context']} gives size {spec['size_label']} "
                            f"{positions:,} position parameters, {positions / max(1, others):.3g} times the rest of "
                            "the model; is the context meant to be this long? (a window longer than a split of the "
                            "text cannot be sampled: such runs fail)")
    return warnings


def _named_by(config: dict, spec: dict, component: str) -> tuple[str, list]:
    """(what to shorten, its key path) for a component of a run's path: a target's name, the sweep's name, or (the
    rest) the sweep's size keys and budget label."""
    if spec.get("target") == component:
        i = next(i for i, target in enumerate(config.get("targets") or []) if target["name"] == component)
        return "the target's name", ["targets", i, "name"]
    i = next(i for i, sweep in enumerate(config.get("sweeps") or []) if sweep["name"] == spec["sweep"])
    if component == spec["sweep"]:
        return "the sweep's name", ["sweeps", i, "name"]
    return "the size keys or values", ["sweeps", i, "sizes"]


def runtime_warnings(specs: list[dict]) -> list[str]:
    """A warning for every sweep whose longest run would take more than WARN_RUN_SECONDS at the assumed
    throughput (scalinglab.resources)."""
    from .. import resources

    worst: dict[str, tuple[float, dict]] = {}
    estimates = resources.estimated_seconds_of_runs(specs)
    for spec in specs:
        seconds = estimates[spec["run_path"]]
        if seconds is not None and seconds > worst.get(spec["sweep"], (0.0, None))[0]:
            worst[spec["sweep"]] = (seconds, spec)
    warnings = []
    for sweep, (seconds, spec) in worst.items():
        if seconds > WARN_RUN_SECONDS:
            device = "GPU" if resources.gpus(spec) else "one CPU thread"
            rate = resources.GPU_FLOPS_PER_S if resources.gpus(spec) else resources.CPU_FLOPS_PER_S
            warnings.append(f"sweep {sweep!r}: run {spec['run_path']} is estimated at {duration(seconds)} on {device} "
                            f"({resources.estimate_flops(spec):.3g} FLOPs at {rate:.3g} FLOP/s, scalinglab.resources);"
                            " check its budget")
    return warnings


def duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} seconds"
