"""`scalinglab datasets`: the dataset registry, as a table or JSON."""

from __future__ import annotations

import json

HELP = "list the registered datasets with their unit, task and description"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")


def run(args) -> int:
    from ..datasets import DATASETS

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
