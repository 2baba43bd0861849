"""Checks of each sweep, before any job: what its trainer needs (a model and a dataset, or a command), the model
family's reference and size keys, sizes that resolve to distinct models, a command's placeholders, budget kinds,
grids, and budgets the training pool can give.
"""

from __future__ import annotations

import math

from .dataset_checks import dataset_of
from .errors import ConfigError
from .identity import canonical_json
from .validate import did_you_mean, key_path, unknown_key_message

# Keys of a size entry that give a size: they must be positive whole numbers.
SIZE_KEYS = ("width", "d_model", "target_params", "n_layer", "n_head", "head_dim", "context")


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


def check_cells_in_pool(config: dict, sweep: dict, where: list, specs: list[dict]) -> None:
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

