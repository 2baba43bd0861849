"""`scalinglab aggregate`: collect run.json files into the metrics and curves tables."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HELP = "collect run.json files into metrics.parquet (one row per run) and curves.parquet (one per evaluation)"


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="*", help="run.json files (default: the study's runs with --config-json, or "
                        "every run.json under --runs-root)")
    parser.add_argument("--config-json", help="the study's run-table keys as JSON (device, datasets, sweeps; defaults "
                        "filled in): aggregate exactly its runs, each --runs-root/RUN_PATH/run.json (what the workflow "
                        "does)")
    parser.add_argument("--runs-root", help="folder holding RUN_PATH/run.json, e.g. results/STUDY/runs")
    parser.add_argument("--metrics", required=True, help="metrics table to write, e.g. results/STUDY/metrics.parquet")
    parser.add_argument("--curves", required=True, help="curves table to write, e.g. results/STUDY/curves.parquet")


def run(args) -> int:
    from ..aggregate import aggregate_runs

    if args.runs:
        paths = list(args.runs)
    elif not args.runs_root:
        print("scalinglab aggregate: give run.json files, or --runs-root (with --config-json: the study's runs)",
              file=sys.stderr)
        return 2
    elif args.config_json:
        from ..config import run_paths

        # plain strings, not Path objects: 10,000 runs
        paths = [os.path.join(args.runs_root, path, "run.json") for path in run_paths(json.loads(args.config_json))]
    else:
        paths = sorted(str(path) for path in Path(args.runs_root).rglob("run.json"))
    missing = [path for path in paths if not os.path.isfile(path)]
    if not paths or missing:
        why = f"{len(missing)} run.json file(s) missing, e.g. {missing[0]}" if missing else "no run.json files"
        print(f"scalinglab aggregate: {why}", file=sys.stderr)
        return 1
    print(aggregate_runs(paths, args.metrics, args.curves))
    return 0
