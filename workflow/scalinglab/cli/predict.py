"""`scalinglab predict FIT.json --at N=...`: evaluate a saved fit, with the confidence interval of the fitted curve
and the prediction interval of a new run."""

from __future__ import annotations

import json
import sys

from .fit import fmt, level

HELP = "evaluate a fit JSON at given x values, with confidence and prediction intervals"


def add_arguments(parser) -> None:
    parser.add_argument("fit", help="fit JSON written by `scalinglab fit`")
    parser.add_argument(
        "--at", action="append", required=True, metavar="N=1e9[,D=2e10]", help="point(s) to predict at (repeatable)"
    )
    parser.add_argument("--ci", type=level, default=None, help="confidence level (default: the fit's)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    import numpy as np

    from ..fitting import load_fit
    from ..fitting.predict import parse_point, predict

    result = load_fit(args.fit)

    def pair(bounds):
        return [float(v[0]) if np.isfinite(v[0]) else None for v in bounds]

    rows = []
    for spec in args.at:
        p = predict(result, parse_point(spec, "--at"), ci=args.ci)
        rows.append({
            "at": {k: float(np.asarray(v)[0]) for k, v in p["x"].items()},
            "value": float(p["value"][0]),
            "confidence_interval": pair(p["confidence_interval"]),
            "prediction_interval": pair(p["prediction_interval"]),
            "ci": p["ci"],
            "extrapolation_decades": {k: float(v[0]) for k, v in p["extrapolation_decades"].items()},
            "warnings": p["warnings"],
        })
        for warning in p["warnings"]:
            print(f"scalinglab predict: warning: {warning}", file=sys.stderr)
    noise = result.observation_noise or {}
    if args.json:
        print(json.dumps({"law": result.law.name, "y": result.y, "predictions": rows,
                          "observation_noise": noise}, indent=1))
        return 0
    for row in rows:
        at = ", ".join(f"{k}={v:g}" for k, v in row["at"].items())
        (clo, chi), (plo, phi) = row["confidence_interval"], row["prediction_interval"]
        print(f"{result.y}({at}) = {row['value']:.6g}  {100 * row['ci']:g}% confidence interval of the fitted curve "
              f"[{fmt(clo)}, {fmt(chi)}]; prediction interval for a new run [{fmt(plo)}, {fmt(phi)}]")
    if noise.get("sigma"):
        print(f"  observation noise: sigma = {noise['sigma']:.3g} on the log scale ({noise['dof']} dof, from the "
              "residuals of the fit)")
    return 0
