"""`scalinglab report`: the self-contained HTML report of a study, from its metrics, curves and fits."""

from __future__ import annotations

import sys

HELP = "render the self-contained HTML report from metrics, curves and fits"


def add_input_arguments(parser) -> None:
    """The inputs `report` and `paper-figures` share."""
    parser.add_argument("--metrics", required=True, help="results/STUDY/metrics.parquet (or a CSV with its columns)")
    parser.add_argument("--curves", help="results/STUDY/curves.parquet; learning curves are omitted without it")
    parser.add_argument("--fits", nargs="*", default=[], help="fit JSON files, results/STUDY/fits/SWEEP/LAW.json")
    config = parser.add_mutually_exclusive_group()
    config.add_argument("--config-json", help="the study config as JSON text (with defaults filled in)")
    config.add_argument("--config", help="or: a study YAML, loaded and validated")


def load_inputs(args):
    """(metrics, curves, fits, config) named by the arguments of add_input_arguments; `fits` holds the records of
    laws `scalinglab fit --if-unfittable record` could not fit, beside the fits."""
    import json

    import pandas as pd

    from ..config import load_config
    from ..fitting.table import read_frame
    from ..report.fits import load_fits

    if args.config_json:
        config = json.loads(args.config_json)
    elif args.config:
        config = load_config(args.config)
    else:
        config = {}
    metrics = read_frame(args.metrics)
    curves = read_frame(args.curves) if args.curves else pd.DataFrame()
    return metrics, curves, load_fits(args.fits), config


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--scorecard", help="results/STUDY/scorecard.json: the targets' scores, which open the report")
    parser.add_argument("--out", required=True, help="the HTML file to write, e.g. reports/STUDY/report.html")
    parser.add_argument("--workers", type=int, default=1,
                        help="draw the figures in this many processes (same bytes; the workflow passes its threads)")


def run(args) -> int:
    from .. import atomic
    from ..provenance import provenance
    from ..report.html import render_report

    metrics, curves, fits, config = load_inputs(args)
    scorecard = None
    if args.scorecard:
        import json

        with open(args.scorecard) as handle:
            scorecard = json.load(handle)
    text = render_report(metrics, curves, fits, config, provenance(config), scorecard=scorecard,
                         workers=args.workers)
    out = atomic.write_text(args.out, text)
    print(f"wrote {out} ({len(text) / 1e6:.2f} MB)", file=sys.stderr)
    return 0
