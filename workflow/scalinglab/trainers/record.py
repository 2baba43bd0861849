"""The run record every trainer writes: `out_dir/run.json` = {spec, metrics, curve, env, started_at, finished_at}.

Standard library only (torch and numpy versions are read only when already imported).
"""

from __future__ import annotations

import os
import platform
import resource
import socket
import sys
import time
from pathlib import Path

from .. import atomic

# Metrics that measure time, memory or the job's history rather than the run's result.
TIMING_FIELDS = ("wall_s", "train_s", "throughput", "flops_per_s", "peak_rss_mb", "first_step_s", "resumed_from_step")


def utc_now() -> str:
    """ISO 8601 UTC to the second, e.g. 2026-11-28T16:26:40Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), or None."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - start_ticks / ticks)
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def environment(device=None, threads=None) -> dict:
    """Where this run's result came from: the scalinglab version and the commit of its checkout (with -dirty for
    uncommitted changes), python, numpy and torch versions, device, threads, hostname, platform."""
    from .. import PACKAGE_DIR, __version__
    from ..provenance import git_commit

    numpy, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    env = {
        "scalinglab": __version__,
        "commit": git_commit(PACKAGE_DIR),
        "python": platform.python_version(),
        "numpy": getattr(numpy, "__version__", None),
        "torch": getattr(torch, "__version__", None),
        "device": str(device) if device is not None else None,
        "threads": threads,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
    }
    if torch is not None and getattr(device, "type", None) == "cuda":
        env["cuda_device"] = torch.cuda.get_device_name(device)
    return env


def write(out_dir, spec: dict, metrics: dict, curve: list, env: dict, started_at: str) -> dict:
    """Write out_dir/run.json atomically (NaN and inf become null) and return the record."""
    record = {"spec": spec, "metrics": metrics, "curve": curve, "env": env, "started_at": started_at,
              "finished_at": utc_now()}
    atomic.write_json(Path(out_dir) / "run.json", record, strict=True)
    return record


def failed_result(spec: dict, out_dir, error: BaseException | str, started_at: str | None = None) -> dict:
    """Write run.json with status "failed" (on_failure: record after the last attempt)."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    metrics = {"status": "failed", "error": message, "diverged_step": None}
    return write(out_dir, spec, metrics, [], environment(), started_at or utc_now())
