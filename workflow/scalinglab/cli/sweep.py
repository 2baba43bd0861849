"""`scalinglab sweep CONFIG`: show or save the run table of a study without running anything."""

from __future__ import annotations

import sys

HELP = "expand a study config into its run table (one row per run) and print or save it"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="study YAML, e.g. config/config.yaml")
    parser.add_argument("--out", help="write the table here (.csv or .parquet) instead of printing it")


def run(args) -> int:
    from ..config import expand, load_config, runs_table

    table = runs_table(expand(load_config(args.config)))
    if args.out is None:
        columns = ["run_id", "run_path", "dataset", "model", "budget", "seed"]
        table[columns].to_string(sys.stdout, index=False)
        sys.stdout.write(f"\n{len(table)} runs\n")
    elif args.out.endswith(".parquet"):
        table.to_parquet(args.out, index=False)
    else:
        table.to_csv(args.out, index=False)
    return 0
