"""The checks a JSON Schema cannot express, run after it (defaults filled in). Each raises one ConfigError that
names the key path, the bad value and what is allowed."""

from __future__ import annotations

from .errors import ConfigError
from .validate import key_path, problem_error, unknown_key_message


def check_study(config: dict) -> None:
    for check in (check_unique_names, check_fit_blocks):
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
