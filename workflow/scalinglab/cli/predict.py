"""`scalinglab predict FIT.json --at N=...`: evaluate a saved fit, with bootstrap intervals."""

from __future__ import annotations

import json

from .fit import fmt

HELP = "evaluate a fit JSON at given x values, with bootstrap intervals"


def add_arguments(parser) -> None:
    parser.add_argument("fit", help="fit JSON written by `scalinglab fit`")
    parser.add_argument(
        "--at", action="append", required=True, metavar="N=1e9[,D=2e10]", help="point(s) to predict at (repeatable)"
    )
    parser.add_argument("--ci", type=float, default=None, help="confidence level (default: the fit's)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    import numpy as np

    from ..fitting import load_fit
    from ..fitting.predict import parse_point, predict
    from ..fitting.prepare import listify as _listify

    result = load_fit(args.fit)
    rows = []
    for spec in _listify(args.at):
        p = predict(result, parse_point(spec, "--at"), ci=args.ci)
        lo, hi = p["interval"]
        rows.append(
            {
                "at": {k: float(np.asarray(v)[0]) for k, v in p["x"].items()},
                "value": float(p["value"][0]),
                "interval": [float(v[0]) if np.isfinite(v[0]) else None for v in (lo, hi)],
                "ci": p["ci"],
            }
        )
    if args.json:
        print(json.dumps({"law": result.law.name, "y": result.y, "predictions": rows}, indent=1))
        return 0
    for row in rows:
        at = ", ".join(f"{k}={v:g}" for k, v in row["at"].items())
        lo, hi = row["interval"]
        print(f"{result.y}({at}) = {row['value']:.6g}  {100 * row['ci']:g}% interval [{fmt(lo)}, {fmt(hi)}]")
    return 0
