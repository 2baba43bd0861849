"""Load a study config and validate it against the JSON Schema, filling in defaults."""

from __future__ import annotations

import copy
from pathlib import Path

from . import SCHEMA_PATH


class ConfigError(ValueError):
    """A study config that cannot be run; the message names the offending key or value."""


def validate_config(config: dict) -> dict:
    """Validate in place with snakemake.utils.validate (which fills defaults) and return the config."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(SCHEMA_PATH), set_default=True)
    except WorkflowError as error:
        raise ConfigError(_schema_message(error)) from None
    return config


def _schema_message(error: Exception) -> str:
    # snakemake wraps jsonschema's ValidationError; its cause carries the failing path.
    cause = error.__cause__ or error.__context__
    if getattr(cause, "validator", None) == "oneOf" and not cause.absolute_path:
        return ("invalid study config at config['sweeps']: a study needs a non-empty `sweeps` list "
                "(models to train) or an `external` list (runs read from CSV files)")
    if getattr(cause, "validator", None) in ("oneOf", "anyOf") and cause.context:
        # "not valid under any of the given schemas" names nothing: report the closest alternative's failure.
        from jsonschema.exceptions import best_match

        cause = best_match(cause.context)
    path = getattr(cause, "absolute_path", None)
    if cause is not None and path is not None:
        where = "config" + "".join(f"[{p!r}]" for p in path)
        return f"invalid study config at {where}: {cause.message}"
    return f"invalid study config: {error}"


def load_config(path: str | Path) -> dict:
    """Read a study YAML, validate it and return the config with defaults filled in."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    import yaml  # here, not at the top: `scalinglab train` imports ConfigError on its start-up path

    with path.open() as handle:
        config = yaml.safe_load(handle)
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path} does not hold a mapping of keys")
    return validate_config(copy.deepcopy(config))
