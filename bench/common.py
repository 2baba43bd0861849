"""Shared pieces of the benchmarks: one result line, timing from the shell, peak memory of a child process,
growth exponents, and the machine a run happened on.

A benchmark module exposes ``lines(mode) -> list[Line]`` (mode: "quick", "full" or "sizes"); ``bench/run_all.py``
collects them into one table. Every line is either a ratio against a reference measured in the same run, or a wall
time the user experiences, with the goal it is held to.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Line:
    """One row of bench/results.md."""

    name: str  # what is measured, e.g. "scalinglab fit, Chinchilla 4,500 starts, from the shell"
    value: float  # the measured number, in `unit`
    unit: str  # "s", "x" (a ratio), "GiB", "%", "exponent"
    goal: str = ""  # e.g. "<= 1.0 s"; empty when the line is context for another
    ok: bool | None = None  # whether the goal is met; None without a goal
    reference: str = ""  # what the ratio divides by, measured in the same run, e.g. "scipy loop 81.2 s"
    command: str = ""  # how to reproduce it
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def check(value: float, op: str, limit: float) -> bool:
    return {"<=": value <= limit, ">=": value >= limit}[op]


def line(name, value, unit, op=None, limit=None, **kwargs) -> Line:
    """A Line whose goal is `value op limit` (e.g. op "<=", limit 1.0)."""
    if op is None:
        return Line(name, value, unit, **kwargs)
    goal = f"{op} {limit:g} {unit}".strip()
    return Line(name, value, unit, goal=goal, ok=check(value, op, limit), **kwargs)


def run_timed(command: list[str], cwd=None, env=None, timeout=3600) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one child process, started from a shell-like environment.

    The peak is the child's own (os.wait4), not the maximum over every child this process ever had."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            raise TimeoutError(f"{' '.join(command)} ran past {timeout} s")
        time.sleep(0.002)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        err = process.stderr.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{err}")
    process.stderr.close()
    return wall, usage.ru_maxrss * 1024  # Linux reports KiB


def shell_wall(command: list[str], repeats: int = 5, **kwargs) -> dict:
    """Wall time of a command as a user feels it: `repeats` runs after one warm-up; median, best and all."""
    run_timed(command, **kwargs)  # warm the page cache, as a user's second call would be
    walls = [run_timed(command, **kwargs)[0] for _ in range(repeats)]
    return {"median": statistics.median(walls), "best": min(walls), "all": walls}


def growth_exponent(sizes, costs) -> float:
    """k in cost ~ size^k: the least-squares slope of log cost against log size."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(c, 1e-12)) for c in costs]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def scalinglab_command() -> list[str]:
    """The installed `scalinglab` console script next to this interpreter (what a user types)."""
    script = Path(sys.executable).parent / "scalinglab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "scalinglab"]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = int(next(t for t in meminfo if t.startswith("MemTotal")).split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "commit": commit + ("-dirty" if dirty else ""),
        "load_at_start": round(load, 2),
    }
