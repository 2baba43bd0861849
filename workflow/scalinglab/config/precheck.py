"""Checks of snakemake's --configfile arguments that must run before snakemake reads them: it reads the study file
before the Snakefile, and answers a missing file with a traceback and a YAML syntax error without file or line.

profiles/default/profile.yaml (the workflow profile snakemake loads by itself while parsing its command line) calls
`check_command_line()`; it prints one line and exits when a study file is missing or is not valid YAML.
"""

from __future__ import annotations

import sys
from pathlib import Path

OPTIONS = ("--configfile", "--configfiles")


def configfiles(argv: list[str]) -> list[str]:
    """The files given to --configfile/--configfiles (snakemake's nargs="+": every value up to the next option)."""
    files, taking = [], False
    for token in argv:
        if token == "--":
            break
        name, equals, value = token.partition("=")
        if name in OPTIONS:
            taking = not equals
            if equals:
                files.append(value)
        elif token.startswith("-"):
            taking = False
        elif taking:
            files.append(token)
    return files


def problem(path: str) -> str | None:
    """Why a study file cannot be read, or None."""
    from .errors import ConfigError
    from .validate import parse_study

    file = Path(path)
    if not file.is_file():
        return f"--configfile {path}: no such file (in {Path.cwd()})"
    try:
        parse_study(file.read_text(), path)
    except ConfigError as error:
        return str(error)
    except (OSError, UnicodeDecodeError) as error:
        return f"{path}: cannot be read: {error}"
    return None


def check_command_line(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    for path in configfiles(argv):
        why = problem(path)
        if why is not None:
            raise SystemExit(f"scalinglab: error: {why}")
