"""`scalinglab datasets` and `scalinglab prepare-data`. Heavy imports happen inside the generators."""

from __future__ import annotations

import json
import sys

HELP = {
    "datasets": "list the registered datasets with their unit, task and description",
    "prepare-data": "generate one dataset into DIR/data.npz + DIR/meta.json (cached by its parameters)",
}


def add_arguments(name: str, parser) -> None:
    if name == "datasets":
        parser.add_argument("--json", action="store_true", help="print the registry as JSON")
    elif name == "prepare-data":
        parser.add_argument("dataset", metavar="NAME", help="registered dataset name (see `scalinglab datasets`)")
        parser.add_argument(
            "--params-json", default="{}", help="generation parameters as a JSON object (defaults filled in)"
        )
        parser.add_argument("--out-dir", required=True, help="output directory, e.g. results/data/NAME")


def run(name: str, args) -> int:
    from . import DATASETS, cached_meta, prepare

    if name == "datasets":
        if args.json:
            rows = [
                {"name": s.name, "unit": s.unit, "task": s.task, "description": s.description, "defaults": s.defaults}
                for s in DATASETS.values()
            ]
            print(json.dumps(rows, indent=1))
            return 0
        width = max(len(n) for n in DATASETS)
        print(f"{'name':<{width}}  {'unit':<7}  {'task':<14}  description")
        for spec in DATASETS.values():
            print(f"{spec.name:<{width}}  {spec.unit:<7}  {spec.task:<14}  {spec.description}")
            print(f"{'':<{width}}  {'':<7}  {'':<14}  defaults: {json.dumps(spec.defaults, sort_keys=True)}")
        return 0
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
