"""`scalinglab report` (the HTML report) and `scalinglab paper-figures` (reports/figures/ as PDF, PNG, SVG)."""

from __future__ import annotations

import sys

HELP = {
    "report": "render the self-contained HTML report from metrics, curves and fits",
    "paper-figures": "write every figure of the study to a folder as PDF, PNG and SVG (deterministic bytes)",
}


def add_arguments(name, parser) -> None:
    parser.add_argument("--metrics", required=True, help="results/metrics.parquet (or a CSV with the same columns)")
    parser.add_argument("--curves", help="results/curves.parquet; learning curves are omitted without it")
    parser.add_argument("--fits", nargs="*", default=[], help="fit JSON files, results/fits/SWEEP/LAW.json")
    parser.add_argument("--config-json", help="the study config as JSON text (with defaults filled in)")
    parser.add_argument("--config", help="or: a study YAML, loaded and validated")
    if name == "report":
        parser.add_argument("--out", required=True, help="the HTML file to write, e.g. reports/report.html")
    else:
        parser.add_argument("--out-dir", required=True, help="folder for the figures, e.g. reports/figures")


def _inputs(args):
    import json

    from .build import read_table
    from .fits import load_fit

    if args.config_json:
        config = json.loads(args.config_json)
    elif args.config:
        from ..config import load_config

        config = load_config(args.config)
    else:
        config = {}
    from pathlib import Path

    from ..config import ConfigError

    if not Path(args.metrics).exists():
        raise ConfigError(f"metrics file not found: {args.metrics}")
    metrics = read_table(args.metrics)
    curves = read_table(args.curves)
    fits = []
    for path in args.fits:
        fit = load_fit(path)
        fit["_sweep"] = Path(path).parent.name  # results/fits/SWEEP/LAW.json
        fits.append(fit)
    return metrics, curves, fits, config


def run(name, args) -> int:
    metrics, curves, fits, config = _inputs(args)
    if name == "paper-figures":
        from .paper import write_paper_figures

        paths = write_paper_figures(metrics, curves, fits, config, args.out_dir)
        print(f"wrote {len(paths)} files to {args.out_dir}")
        return 0

    from .. import atomic
    from ..provenance import provenance
    from .html import render_report

    text = render_report(metrics, curves, fits, config, provenance(config))
    out = atomic.write_text(args.out, text)
    print(f"wrote {out} ({len(text) / 1e6:.2f} MB)", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """`python -m scalinglab.report.commands {report,paper-figures} ...` without the dispatcher."""
    import argparse

    parser = argparse.ArgumentParser(prog="scalinglab-report")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in HELP:
        add_arguments(command, sub.add_parser(command, help=HELP[command]))
    args = parser.parse_args(argv)
    from ..config import ConfigError

    try:
        return run(args.command, args)
    except ConfigError as error:
        print(f"scalinglab {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
