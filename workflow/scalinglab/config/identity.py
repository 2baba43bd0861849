"""Canonical JSON and the one run identity. Standard library only: training imports it on its start-up path."""

from __future__ import annotations

import hashlib
import json

# Spec keys that say how a run is executed, not what it computes: they stay out of its identity (run_id and the
# checkpoint's identity), so changing them never retrains or orphans a run.
OPERATIONAL_KEYS = ("run_id", "run_path", "checkpoint_interval_s", "keep_checkpoints", "on_failure", "resources")


def canonical_json(value) -> str:
    """The one JSON text of a value: sorted keys, no spaces. Hashes, cache keys and rerun triggers use it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def short_hash(value, length: int = 12, algorithm: str = "sha1") -> str:
    """The first `length` hex digits of the hash of `value`'s canonical JSON."""
    return hashlib.new(algorithm, canonical_json(value).encode()).hexdigest()[:length]


# Spec keys added after runs were first recorded, with the value every earlier run implicitly had: at that value
# they stay out of the identity, so that upgrading scalinglab changes no run id and retrains nothing.
NEUTRAL_VALUES = {"trainer": "builtin", "role": "ladder", "target": None, "compute_budget": None, "grid": {}}


def run_identity(spec: dict) -> dict:
    """What defines a run: its spec without the operational keys (and without later keys at their neutral value)."""
    return {key: value for key, value in spec.items()
            if key not in OPERATIONAL_KEYS and not (key in NEUTRAL_VALUES and value == NEUTRAL_VALUES[key])}


def run_id(spec: dict) -> str:
    """12 hex digits naming a run: sha1 of the canonical JSON of its identity."""
    return short_hash(run_identity(spec))


def with_neutral_values(spec: dict) -> dict:
    """A spec with every later key present: its own value, or the neutral one a spec without it had."""
    return {**NEUTRAL_VALUES, **spec}
