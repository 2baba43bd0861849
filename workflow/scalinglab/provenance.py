"""Where a result came from: commit, config hash, package versions, machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from .config import short_hash

PACKAGES = ("scalinglab", "snakemake", "torch", "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "seaborn",
            "jinja2", "mnist1d", "scikit-learn", "snakemake-executor-plugin-slurm")


def config_hash(config: dict) -> str:
    return short_hash(config, length=16, algorithm="sha256")


def git_commit(repo: str | Path = ".") -> str:
    """The commit checked out, with '-dirty' when tracked files differ; 'unknown' outside a git checkout."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine() -> dict[str, str]:
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
    }


def provenance(config: dict, repo: str | Path = ".") -> dict:
    return {
        "commit": git_commit(repo),
        "config_hash": config_hash(config),
        "packages": package_versions(),
        "machine": machine(),
    }
