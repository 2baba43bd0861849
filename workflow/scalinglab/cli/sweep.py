"""`scalinglab sweep CONFIG`: check a study and show or save its run table, without running anything."""

from __future__ import annotations

import sys

HELP = "check a study config and print (or save) its run table, one row per run"


def add_arguments(parser) -> None:
    parser.add_argument("config", help="study YAML, e.g. config/config.yaml")
    parser.add_argument("--out", help="write the table here (.csv or .parquet) instead of printing it")


def run(args) -> int:
    from ..config import load_study, runs_table, skipped_cells

    config, specs, warnings = load_study(args.config)
    for warning in warnings:
        print(f"scalinglab sweep: warning: {warning}", file=sys.stderr)
    table = runs_table(specs)
    skipped = skipped_cells(config)
    if args.out is None:
        if specs:
            columns = ["run_id", "run_path", "role", "trainer", "dataset", "model", "budget", "seed"]
            table[columns].to_string(sys.stdout, index=False)
        for cell in skipped:
            sys.stdout.write(f"\nskipped {cell['sweep']}/{cell['size_label']}/C{cell['compute_budget']:.4g}: "
                             f"{cell['reason']}")
        external = ", ".join(block["name"] for block in config.get("external") or [])
        targets = sum(table["role"] == "target") if specs else 0
        sys.stdout.write(f"\n{len(table)} runs" + (f" ({targets} of them targets)" if targets else "")
                         + (f", {len(skipped)} cells skipped" if skipped else "")
                         + (f" (external data: {external})" if external else "") + "\n")
    elif args.out.endswith(".parquet"):
        table.to_parquet(args.out, index=False)
    else:
        table.to_csv(args.out, index=False)
    return 0
