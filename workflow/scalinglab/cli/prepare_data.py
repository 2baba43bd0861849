"""`scalinglab prepare-data NAME`: generate one dataset into its cache folder (data.npz + meta.json)."""

from __future__ import annotations

import json
import sys

HELP = "generate one dataset into DIR/data.npz + DIR/meta.json (cached by its parameters)"


def add_arguments(parser) -> None:
    parser.add_argument("dataset", metavar="NAME", help="registered dataset name (see `scalinglab datasets`)")
    parser.add_argument(
        "--params-json", default="{}", help="generation parameters as a JSON object (defaults filled in)"
    )
    parser.add_argument("--out-dir", required=True, help="output directory, e.g. results/data/NAME")


def run(args) -> int:
    from ..datasets import cached_meta, prepare

    try:
        params = json.loads(args.params_json)
    except ValueError as error:
        print(f"scalinglab prepare-data: --params-json is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(params, dict):
        print("scalinglab prepare-data: --params-json must be a JSON object", file=sys.stderr)
        return 2
    if cached_meta(args.dataset, params, args.out_dir) is not None:
        print(f"{args.dataset}: up to date in {args.out_dir}")
        return 0
    try:
        meta = prepare(args.dataset, params, args.out_dir)
    except (RuntimeError, ValueError) as error:
        if type(error).__name__ == "ConfigError":
            raise
        print(f"scalinglab prepare-data {args.dataset}: error: {error}", file=sys.stderr)
        return 1
    sizes = ", ".join(f"{k} {v}" for k, v in meta["sizes"].items())
    print(f"{args.dataset}: wrote {args.out_dir}/data.npz ({sizes} {meta['unit']})")
    return 0
