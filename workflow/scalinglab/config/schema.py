"""The study schema (workflow/schemas/config.schema.yaml) and its defaults: the one source of every default value.

Read once per process, and only when asked: importing this module costs nothing (no yaml).
"""

from __future__ import annotations

import copy
from functools import cache

from .. import SCHEMA_PATH


@cache
def _schema() -> dict:
    import yaml

    with open(SCHEMA_PATH) as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema() -> dict:
    """The whole schema (a copy: callers may change it)."""
    return copy.deepcopy(_schema())


def properties(section: str | None = None) -> dict:
    """The properties of the top level (None) or of a $defs block ("train", "fit", "sweep", "external")."""
    node = _schema() if section is None else _schema()["$defs"][section]
    return copy.deepcopy(node.get("properties", {}))


def defaults(section: str | None = None) -> dict:
    """{key: default} of a section, for every key that has a default."""
    return {key: value["default"] for key, value in properties(section).items() if "default" in value}


def default(section: str | None, key: str):
    return defaults(section)[key]


def description(section: str | None, key: str) -> str:
    return " ".join(str(properties(section)[key].get("description", "")).split())


def allowed(section: str | None, key: str) -> list:
    """The enum of a key (its allowed values)."""
    return list(properties(section)[key]["enum"])
