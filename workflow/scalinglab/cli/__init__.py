"""The `scalinglab` command: a dispatcher over one module per subcommand in this package.

Each subcommand module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`. It parses
arguments and calls library functions; it holds no policy. Heavy libraries (pandas, scipy, matplotlib, snakemake,
yaml) are imported inside `run`, and only the module of the subcommand given is imported, so `scalinglab train`
pays for torch and numpy and nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module of this package
COMMANDS = {
    "sweep": "sweep",
    "datasets": "datasets",
    "prepare-data": "prepare_data",
    "train": "train",
    "aggregate": "aggregate",
    "import-external": "import_external",
    "laws": "laws",
    "fit": "fit",
    "predict": "predict",
    "predict-target": "predict_target",
    "score": "score",
    "plan": "plan",
    "report": "report",
    "paper-figures": "paper_figures",
    "migrate": "migrate",
}


def command_module(name: str):
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (`only`) a parser that knows one subcommand and imports only its module."""
    parser = argparse.ArgumentParser(
        prog="scalinglab", description="Train model families, fit scaling laws, report them."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else [only]:
        module = command_module(name)
        module.add_arguments(subparsers.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def entry() -> int:
    """The `scalinglab` console script: `main` in a process of its own, which first keeps freed memory for reuse
    (before any large array, so that a fit's working arrays are reused, not faulted in afresh; see allocator)."""
    from ..allocator import keep_freed_memory

    keep_freed_memory()
    return main()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(only).parse_args(argv)
    from ..config import ConfigError

    try:
        return command_module(args.command).run(args) or 0
    except ConfigError as error:
        print(f"scalinglab {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what was running is stopped (its files cleaned up), not a traceback
        print(f"scalinglab {args.command}: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports a command that Ctrl-C stopped
