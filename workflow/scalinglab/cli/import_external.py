"""`scalinglab import-external`: a study's external CSVs -> metrics.parquet and an empty curves.parquet."""

from __future__ import annotations

import json

HELP = "read the external CSVs of a study (its `external` block) into metrics.parquet and curves.parquet"


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config-json", help="the study config as JSON (with its external block)")
    source.add_argument("--config", help="or: a study YAML, loaded and validated")
    parser.add_argument("--metrics", required=True, help="metrics.parquet to write")
    parser.add_argument("--curves", required=True, help="curves.parquet to write (empty: no learning curves)")


def run(args) -> int:
    from ..external import import_external

    if args.config_json:
        config = json.loads(args.config_json)
    else:
        from ..config import load_config

        config = load_config(args.config)
    n = import_external(config, args.metrics, args.curves)
    print(f"wrote {n} external runs to {args.metrics}")
    return 0
