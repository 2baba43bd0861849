"""The study config: the schema and its defaults (the one source), validation with key paths and "did you mean",
the run table with the one run identity, and what the workflow asks of a study.

Importing this package is cheap (standard library only; yaml, jsonschema, snakemake and pandas are imported when a
function needs them): `scalinglab train` imports it on its start-up path.

    errors     ConfigError
    identity   canonical_json, run_id (the ONE identity, also the checkpoint's), OPERATIONAL_KEYS
    schema     the schema file and its defaults
    validate   load_config, validate_config (schema, then checks.check_study)
    runs       expand (the run table), run_table_config, human_count, size_label, runs_table, flatten_spec
    study      fit_settings, fitted_blocks, default_y (the fitted column when a study names none)
"""

from .errors import ConfigError
from .identity import OPERATIONAL_KEYS, canonical_json, run_id, run_identity, short_hash
from .runs import RUN_TABLE_KEYS, expand, flatten_spec, human_count, run_table_config, runs_table, size_label
from .study import default_y, fit_settings, fitted_blocks
from .validate import load_config, validate_config

__all__ = [
    "OPERATIONAL_KEYS",
    "RUN_TABLE_KEYS",
    "ConfigError",
    "canonical_json",
    "default_y",
    "expand",
    "fit_settings",
    "fitted_blocks",
    "flatten_spec",
    "human_count",
    "load_config",
    "run_id",
    "run_identity",
    "run_table_config",
    "runs_table",
    "short_hash",
    "size_label",
    "validate_config",
]
