"""The one exception a bad study raises. Standard library only: `scalinglab train` imports it on its start-up path."""

from __future__ import annotations


class ConfigError(ValueError):
    """A study config (or a file it names) that cannot be run; the message names the key path, the bad value and
    what is allowed. `key_path` (e.g. ['sweeps', 0, 'fit', 'x']), when known, lets the loader add the file's line."""

    def __init__(self, message: str, key_path=None):
        super().__init__(message)
        self.key_path = list(key_path) if key_path is not None else None
