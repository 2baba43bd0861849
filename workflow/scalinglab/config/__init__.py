"""The study config: the schema and its defaults (the one source), validation with key paths and "did you mean",
the run table with the one run identity, and what the workflow asks of a study.

Importing this package is cheap (standard library only; yaml, jsonschema, snakemake and pandas are imported when a
function needs them): `scalinglab train` imports it on its start-up path.

    errors     ConfigError
    identity   canonical_json, run_id (the ONE identity, also the checkpoint's), OPERATIONAL_KEYS
    schema     the schema file and its defaults
    validate   load_config, validate_config (schema, then checks.check_study), load_study (and the run table)
    checks     what a schema cannot express, study-wide: names, fit blocks, laws, fit columns, points per law
    dataset_checks  the `datasets` block: parameters, the study's own files and functions
    sweep_checks    each sweep: trainer, model family, sizes, command placeholders, budgets, grids
    table_checks    the run table: external CSVs, targets' points, path lengths, and the warnings
    runs       expand (the run table: ladder runs and targets), expand_with_skipped, skipped_cells, run_table_config,
               run_paths, human_count, size_label, runs_table
    paths      StudyPaths (every study has its own home), dataset_dir, the old layout and its migration
    study      fit_settings, fitted_blocks, default_y (the fitted column when a study names none), report_config
"""

from .errors import ConfigError
from .identity import OPERATIONAL_KEYS, canonical_json, run_id, run_identity, short_hash, with_neutral_values
from .paths import StudyPaths, dataset_dir
from .runs import (
    RUN_TABLE_KEYS,
    expand,
    expand_with_skipped,
    flatten_spec,
    human_count,
    run_paths,
    run_table_config,
    runs_table,
    size_label,
    skipped_cells,
)
from .study import REPORT_KEYS, default_y, fit_settings, fitted_blocks, report_config
from .validate import load_config, load_study, validate_config

__all__ = [
    "OPERATIONAL_KEYS",
    "REPORT_KEYS",
    "RUN_TABLE_KEYS",
    "ConfigError",
    "StudyPaths",
    "canonical_json",
    "dataset_dir",
    "default_y",
    "expand",
    "expand_with_skipped",
    "fit_settings",
    "fitted_blocks",
    "flatten_spec",
    "human_count",
    "load_config",
    "load_study",
    "report_config",
    "run_id",
    "run_identity",
    "run_paths",
    "run_table_config",
    "runs_table",
    "short_hash",
    "size_label",
    "skipped_cells",
    "validate_config",
    "with_neutral_values",
]
