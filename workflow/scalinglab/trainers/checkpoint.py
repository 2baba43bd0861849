"""Checkpoints of the built-in trainer: written atomically (a kill leaves the previous one whole), and used only by
the run that wrote them: a checkpoint records the run's identity (the one identity function of the run table) and
the optimizer implementation, and anything else is ignored with a message."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import atomic

NAME = "checkpoint.pt"


def identity(spec: dict, optimizer: str) -> str:
    from ..config import run_id

    return f"{run_id(spec)}/{optimizer}"


def remove_torn_writes(out_dir: Path) -> None:
    """Delete temporary files of a checkpoint write that a kill cut short."""
    for stale in Path(out_dir).glob(f".{NAME}.*.tmp"):
        stale.unlink(missing_ok=True)


def save(path: Path, state: dict) -> None:
    import torch

    with atomic.replacing(path, fsync=True) as tmp, open(tmp, "wb") as handle:
        torch.save(state, handle)


def load(path: Path, expected_identity: str) -> dict | None:
    """The checkpoint at `path` if it belongs to this run, else None (a missing, torn or foreign file)."""
    import torch

    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a torn or foreign file: start over
        print(f"scalinglab train: ignoring unreadable checkpoint {path}: {error}", file=sys.stderr)
        return None
    if state.get("identity") != expected_identity:
        print(f"scalinglab train: ignoring checkpoint {path} of another run spec or optimizer", file=sys.stderr)
        return None
    return state
