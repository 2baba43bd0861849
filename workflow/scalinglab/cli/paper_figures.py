"""`scalinglab paper-figures`: every figure of a study as PDF, PNG and SVG, with deterministic bytes."""

from __future__ import annotations

from .report import add_input_arguments, load_inputs

HELP = "write every figure of the study to a folder as PDF, PNG and SVG (deterministic bytes)"


def add_arguments(parser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--out-dir", required=True, help="folder for the figures, e.g. reports/STUDY/figures")
    parser.add_argument("--workers", type=int, default=1,
                        help="draw the figures in this many processes (same bytes; the workflow passes its threads)")


def run(args) -> int:
    from ..report.paper import write_paper_figures

    metrics, curves, fits, config = load_inputs(args)
    paths = write_paper_figures(metrics, curves, fits, config, args.out_dir, workers=args.workers)
    print(f"wrote {len(paths)} files to {args.out_dir}")
    return 0
