"""`scalinglab prepare-data NAME`: generate one dataset into its cache folder (data.npz + meta.json)."""

from __future__ import annotations

import json
import sys

HELP = "generate one dataset into DIR/data.npz + DIR/meta.json (cached by its parameters and files)"


def add_arguments(parser) -> None:
    parser.add_argument("dataset", metavar="NAME", help="dataset name (see `scalinglab datasets`, or the study's own)")
    parser.add_argument(
        "--params-json", default="{}",
        help="the study's `datasets.NAME` entry as a JSON object: generation parameters (defaults filled in), or the "
        "`kind` and `path`/`function` of the study's own data",
    )
    parser.add_argument("--out-dir", required=True, help="output directory, e.g. results/data/NAME/DATASET_ID")
    parser.add_argument(
        "--budgets-json", default="{}",
        help="{sweep: its largest budget} of the sweeps on this dataset: a sample budget larger than the training "
        "pool is refused here, before any training job",
    )
    parser.add_argument("--log", help="this job's log file, named in error messages")


def _json_object(text: str, option: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{option} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{option} must be a JSON object")
    return value


def run(args) -> int:
    from ..datasets import cached_meta, check_budgets, prepare

    try:
        params = _json_object(args.params_json, "--params-json")
        budgets = _json_object(args.budgets_json, "--budgets-json")
    except ValueError as error:
        print(f"scalinglab prepare-data: {error}", file=sys.stderr)
        return 2
    try:
        meta = cached_meta(args.dataset, params, args.out_dir)
        if meta is not None:
            check_budgets(args.dataset, meta, budgets)
            print(f"{args.dataset}: up to date in {args.out_dir}")
            return 0
        meta = prepare(args.dataset, params, args.out_dir, budgets=budgets)
    except (RuntimeError, ValueError) as error:
        if type(error).__name__ == "ConfigError":
            raise
        used_by = f" (sweep {', '.join(sorted(budgets))})" if budgets else ""
        log = f" (log: {args.log})" if args.log else ""
        print(f"scalinglab prepare-data {args.dataset}{used_by}: error: {error}{log}", file=sys.stderr)
        return 1
    sizes = ", ".join(f"{k} {v}" for k, v in meta["sizes"].items())
    print(f"{args.dataset}: wrote {args.out_dir}/data.npz ({sizes} {meta['unit']})")
    return 0
