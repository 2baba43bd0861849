"""Atomic file writes: a reader sees the old file or the complete new one, never a torn one.

`replacing(path)` yields a temporary path in the target's directory (so the final rename stays on one file system);
on success the temporary file is made world-readable (mkstemp creates it 0600) and renamed onto `path`, on any
error (or a KeyboardInterrupt) it is removed. Temporary names are `.{name}.XXXXXXXX.tmp`, hidden and never matched
by a rule's output pattern. Standard library only: `scalinglab train` imports this on its start-up path.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

MODE = 0o644


@contextmanager
def replacing(path, *, fsync: bool = False):
    """Yield a temporary Path next to `path`; write it fully, and on leaving the block it replaces `path`.

    fsync=True flushes the file to disk before the rename (for checkpoints that must survive a power cut)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def json_safe(value):
    """NaN and inf become null (recursively), so the value can be written as strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path, value, *, strict: bool = False) -> Path:
    """`value` as JSON (indent 1, trailing newline) at `path`, atomically. strict=True writes NaN/inf as null
    (strict JSON); otherwise they are written as Python's json module does (NaN, Infinity)."""
    if strict:
        value = json_safe(value)
    with replacing(path) as tmp, open(tmp, "w") as handle:
        json.dump(value, handle, indent=1, allow_nan=not strict)
        handle.write("\n")
    return Path(path)


def write_text(path, text: str, encoding: str = "utf-8") -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)
