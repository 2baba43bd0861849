"""`scalinglab aggregate`: collect run.json files into the metrics and curves tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "collect run.json files into metrics.parquet (one row per run) and curves.parquet (one per evaluation)"


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="*", help="run.json files (default: the study's runs, or every run.json "
                        "under --runs-root)")
    parser.add_argument("--config-json", help="the study config as JSON (defaults filled in): aggregate exactly its "
                        "runs, each read from --runs-root/RUN_PATH/run.json (what the workflow does)")
    parser.add_argument("--runs-root", default="results/runs", help="folder holding RUN_PATH/run.json")
    parser.add_argument("--metrics", default="results/metrics.parquet", help="metrics table to write")
    parser.add_argument("--curves", default="results/curves.parquet", help="curves table to write")


def run(args) -> int:
    from ..aggregate import aggregate_runs

    root = Path(args.runs_root)
    if args.runs:
        paths = [Path(path) for path in args.runs]
    elif args.config_json:
        from ..config import expand

        paths = [root / spec["run_path"] / "run.json" for spec in expand(json.loads(args.config_json))]
    else:
        paths = sorted(root.rglob("run.json"))
    missing = [str(path) for path in paths if not path.is_file()]
    if not paths or missing:
        why = f"{len(missing)} run.json file(s) missing, e.g. {missing[0]}" if missing else f"no run.json under {root}"
        print(f"scalinglab aggregate: {why}", file=sys.stderr)
        return 1
    print(aggregate_runs(paths, args.metrics, args.curves))
    return 0
