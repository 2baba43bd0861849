"""`scalinglab laws`: the catalogue of scaling laws that can be fitted."""

from __future__ import annotations

import json

HELP = "list the scaling laws that can be fitted"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")


def run(args) -> int:
    from ..laws import LAWS

    if args.json:
        print(json.dumps([law.describe() for law in LAWS.values()], indent=1))
        return 0
    width = max(len(n) for n in LAWS)
    for law in LAWS.values():
        print(f"{law.name:<{width}}  {law.formula}")
        print(f"{'':<{width}}  inputs: {', '.join(law.inputs)}; parameters: {', '.join(law.natural)}"
              f"{'; irreducible term (log-sum-exp form)' if law.irreducible else ''}")
    return 0
