"""What the workflow repairs by itself when it starts, so that damaged results are rebuilt, never ignored, and a
killed workflow restarts with one command. The Snakefile calls these once, in the main snakemake process only.

- `set_aside_damaged(paths)`: a record that does not end as this package writes it (a truncated run.json or
  meta.json, a data.npz without its zip directory) is renamed to NAME.damaged, so the workflow sees it missing and
  rebuilds it. O(1) per file: the last bytes only. `repair_dataset` prepares a damaged dataset cache again at once.
- `StaleLocks`: snakemake locks the files it writes in .snakemake/locks and leaves them behind when killed (kill -9),
  so the next run stops with "Directory cannot be locked". Each main snakemake process of this workflow leaves a
  marker with its process id in .snakemake/scalinglab/; locks are stale when every marker belongs to a process that
  is gone, and are removed then. Without markers (another workflow's locks) nothing is touched.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DAMAGED_SUFFIX = ".damaged"
# How a file written by this package ends: JSON by atomic.write_json ("}\n"); .npz a zip, whose last 22 bytes are
# the end-of-central-directory record (numpy writes no zip comment).
_ZIP_END = b"PK\x05\x06"


def damage(path: str | Path) -> str | None:
    """Why the file at `path` is damaged, or None (also None when it is missing: missing files are rebuilt anyway)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return "it is empty"
            handle.seek(max(0, size - 22))
            tail = handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"it cannot be read ({error.strerror})"
    if path.suffix == ".json" and not tail.endswith(b"}\n"):
        return "it is truncated (its JSON does not end)"
    if path.suffix == ".npz" and not tail.startswith(_ZIP_END):
        return "it is truncated (no zip directory at its end)"
    return None


def set_aside_damaged(paths, under: str | Path | None = None) -> list[str]:
    """Rename every damaged file among `paths` to NAME.damaged; one message per file. `under`: a folder holding them
    all, named as they are (both relative to the working directory, or both absolute), walked once so that only the
    files that exist are opened (a fresh study of 10,000 runs opens none)."""
    messages = []
    if under is not None:
        existing = set(_files_under(under))
        paths = [path for path in paths if os.path.normpath(path) in existing]
    for path in paths:
        why = damage(path)
        if why is not None:
            aside = f"{path}{DAMAGED_SUFFIX}"
            os.replace(path, aside)
            messages.append(f"{path} is damaged: {why}; moved it to {aside}, it will be rebuilt")
    return messages


def _files_under(folder: str | Path):
    """Every file path below `folder`, os.path.normpath'd (nothing when it does not exist)."""
    for root, _, files in os.walk(folder):
        for name in files:
            yield os.path.normpath(os.path.join(root, name))


def repair_dataset(name: str, params: dict, folder: str | Path) -> str | None:
    """Prepare a damaged dataset cache again, in place; a message when it was damaged. The folder is named by the
    hash of the parameters and generation is deterministic, so the runs that read it stay valid (train reads the
    cache as ancient: a rebuilt one retrains nothing)."""
    folder = Path(folder)
    damaged = [(path, why) for path in (folder / "meta.json", folder / "data.npz") if (why := damage(path))]
    if not damaged:
        return None
    from .datasets import prepare

    for path, _ in damaged:
        os.replace(path, f"{path}{DAMAGED_SUFFIX}")
    (folder / "meta.json").unlink(missing_ok=True)  # the cache key: without it prepare() generates again
    prepare(name, params, folder)
    reasons = "; ".join(f"{path}: {why}" for path, why in damaged)
    return f"damaged dataset cache ({reasons}): set aside as {DAMAGED_SUFFIX} and prepared again in {folder}"


class StaleLocks:
    """The lock markers of this workflow's main snakemake processes in one working directory."""

    def __init__(self, workdir: str | Path = "."):
        self.snakemake_dir = Path(workdir) / ".snakemake"
        self.markers = self.snakemake_dir / "scalinglab"
        self.locks = self.snakemake_dir / "locks"
        self.own = self.markers / f"main.{os.getpid()}"

    def register(self) -> None:
        """Mark this process as one that may hold locks here, until it exits (any exit but a kill: atexit)."""
        import atexit

        self.markers.mkdir(parents=True, exist_ok=True)
        self.own.write_text(f"{os.getpid()}\n")
        atexit.register(self.release)

    def release(self) -> None:
        self.own.unlink(missing_ok=True)

    def _others(self) -> list[tuple[Path, int]]:
        owners = []
        for marker in self.markers.glob("main.*") if self.markers.is_dir() else []:
            with contextlib.suppress(ValueError):
                pid = int(marker.name.split(".", 1)[1])
                if pid != os.getpid():
                    owners.append((marker, pid))
        return owners

    def clear(self) -> str | None:
        """Remove the locks when every other marked process is gone; a message when locks were removed."""
        lock_files = sorted(self.locks.glob("*.lock")) if self.locks.is_dir() else []
        others = self._others()
        if not lock_files:
            for marker, pid in others:  # gone without a lock to leave behind: nothing to clear, only the marker
                if not alive(pid):
                    marker.unlink(missing_ok=True)
            return None
        if not others or any(alive(pid) for _, pid in others):
            return None
        for path in lock_files:
            path.unlink(missing_ok=True)
        for marker, _ in others:
            marker.unlink(missing_ok=True)
        pids = ", ".join(str(pid) for _, pid in others)
        return (f"removed the locks left by a snakemake of this workflow that is no longer running (process {pids}); "
                "its unfinished outputs are rerun")


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is a snakemake (a reused pid of another program does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"snakemake" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
