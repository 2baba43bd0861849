"""The `scalinglab` command. Each subcommand lives in its own module, imported only when it runs,
so `scalinglab train` pays for torch and nothing else."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module providing HELP, add_arguments(parser) and run(args) -> int.
# Those modules keep heavy imports (torch, pandas, scipy, matplotlib) inside functions.
COMMANDS = {
    "datasets": "scalinglab.datasets.commands",
    "prepare-data": "scalinglab.datasets.commands",
    "sweep": "scalinglab.sweep_command",
    "train": "scalinglab.train_command",
    "aggregate": "scalinglab.aggregate",
    "laws": "scalinglab.fitting.commands",
    "fit": "scalinglab.fitting.commands",
    "predict": "scalinglab.fitting.commands",
    "report": "scalinglab.report.commands",
    "paper-figures": "scalinglab.report.commands",
}


def _command_module(name: str):
    return importlib.import_module(COMMANDS[name])


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scalinglab", description="Train model families, fit scaling laws, report them."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else [only]:
        module = _command_module(name)
        sub = subparsers.add_parser(name, help=module.HELP[name], description=module.HELP[name])
        module.add_arguments(name, sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(only).parse_args(argv)
    from .config import ConfigError

    try:
        return _command_module(args.command).run(args.command, args) or 0
    except ConfigError as error:
        print(f"scalinglab {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
