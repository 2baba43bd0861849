"""`scalinglab datasets`: the built-in datasets, the kinds of a study's own data, and installed entry points."""

from __future__ import annotations

import json

HELP = "list the built-in datasets (unit, task, defaults), the kinds of your own data, and installed entry points"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")


def rows() -> list[dict]:
    from .. import plugins
    from ..datasets import DATASETS
    from ..datasets.user import GROUP, KIND_DEFAULTS, KINDS, UserDataset

    out = [{"name": s.name, "unit": s.unit, "task": s.task, "description": s.description, "defaults": s.defaults}
           for s in DATASETS.values()]
    for kind in KINDS:
        spec = UserDataset(f"kind: {kind}", kind, KIND_DEFAULTS[kind])
        out.append({"name": f"kind: {kind}", "unit": spec.unit, "task": spec.task or "inferred",
                    "description": "your own data (docs/extending.md)", "defaults": spec.defaults})
    for name, entry in sorted(plugins.entry_points(GROUP).items()):
        out.append({"name": name, "unit": "samples", "task": "inferred", "description": f"entry point {entry.value}",
                    "defaults": KIND_DEFAULTS["entry_point"]})
    return out


def run(args) -> int:
    table = rows()
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    width = max(len(r["name"]) for r in table)
    print(f"{'name':<{width}}  {'unit':<7}  {'task':<14}  description")
    for row in table:
        print(f"{row['name']:<{width}}  {row['unit']:<7}  {row['task']:<14}  {row['description']}")
        print(f"{'':<{width}}  {'':<7}  {'':<14}  defaults: {json.dumps(row['defaults'], sort_keys=True)}")
    return 0
