"""Checks of the run table and the directory snakemake runs in (root), before any job: external CSVs, targets'
points, names and paths the file system can hold. `check_runs` returns warnings: runs that would take years at the
estimated throughput, contexts that make a GPT mostly position embeddings, columns only a command's script writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from .checks import fit_column_warnings
from .errors import ConfigError
from .validate import key_path

# A run estimated to take longer than this gets a warning with the estimate.
WARN_RUN_SECONDS = 30 * 86400.0


def check_runs(config: dict, specs: list[dict], root: str | Path = ".") -> list[str]:
    """External CSVs that exist and have their columns (and the rows their targets match), targets whose x is known
    before they train, names the file system can hold (each path component, and the longest whole path), then
    warnings."""
    from ..external import check_files, check_ladder_points
    from ..external import check_targets as check_external_targets
    from .paths import StudyPaths
    from .targets import check_target_points

    root = Path(root).resolve()
    check_files(config, root)
    check_external_targets(config, root)
    check_ladder_points(config, root)
    check_target_points(config, specs)
    name_max = os.pathconf(root, "PC_NAME_MAX")
    path_max = os.pathconf(root, "PC_PATH_MAX")
    paths = StudyPaths(config["study"])
    longest = ""
    for spec in specs:
        for component in spec["run_path"].split("/"):
            if len(component.encode()) > name_max:
                what, at = _named_by(config, spec, component)
                raise ConfigError(f"{key_path(at)}: the path component {component[:40]!r}... of run "
                                  f"{spec['run_path'][:60]!r}... is {len(component.encode())} bytes; this file system "
                                  f"allows {name_max}: shorten {what}", at)
        for path in (paths.run_file(spec["run_path"]), f"{paths.logs}/train/{spec['run_path']}.log"):
            longest = max(longest, path, key=len)
    if len(config["study"].encode()) > name_max:
        raise ConfigError(f"study: the name is {len(config['study'].encode())} bytes; this file system allows "
                          f"{name_max}", ["study"])
    whole = len(str(root / longest).encode())
    if whole >= path_max:
        raise ConfigError(f"the longest path of the study, {longest[:80]!r}..., is {whole} bytes under {root}; this "
                          f"file system allows {path_max - 1}: shorten the study or sweep names", ["study"])
    return fit_column_warnings(config) + context_warnings(config, specs) + runtime_warnings(specs)


# A GPT whose position embeddings outnumber the rest of its parameters this many times is mostly a lookup table of
# positions: a context far beyond what its data and size use (and, beyond a split of the text, runs that fail).
WARN_POSITION_RATIO = 10.0


def context_warnings(config: dict, specs: list[dict]) -> list[str]:
    """A warning for every GPT sweep whose context gives a size WARN_POSITION_RATIO times more position parameters
    than the rest of the model."""
    from .. import resources

    warned, warnings = set(), []
    for spec in specs:
        if spec.get("model") != "gpt" or spec["sweep"] in warned:
            continue
        try:
            resolved, counts = resources.sizing(spec)
        except (ValueError, KeyError):
            continue  # a size that does not resolve: refused by the study's checks
        if resolved is None or counts is None:
            continue
        positions = resolved["context"] * resolved["d_model"]
        others = counts[0] - positions
        if positions > WARN_POSITION_RATIO * max(1, others):
            warned.add(spec["sweep"])
            i = next(i for i, sweep in enumerate(config["sweeps"]) if sweep["name"] == spec["sweep"])
            warnings.append(f"sweeps[{i}].architecture.context: {resolved['context']} gives size {spec['size_label']} "
                            f"{positions:,} position parameters, {positions / max(1, others):.3g} times the rest of "
                            "the model; is the context meant to be this long? (a window longer than a split of the "
                            "text cannot be sampled: such runs fail)")
    return warnings


def _named_by(config: dict, spec: dict, component: str) -> tuple[str, list]:
    """(what to shorten, its key path) for a component of a run's path: a target's name, the sweep's name, or (the
    rest) the sweep's size keys and budget label."""
    if spec.get("target") == component:
        i = next(i for i, target in enumerate(config.get("targets") or []) if target["name"] == component)
        return "the target's name", ["targets", i, "name"]
    i = next(i for i, sweep in enumerate(config.get("sweeps") or []) if sweep["name"] == spec["sweep"])
    if component == spec["sweep"]:
        return "the sweep's name", ["sweeps", i, "name"]
    return "the size keys or values", ["sweeps", i, "sizes"]


def runtime_warnings(specs: list[dict]) -> list[str]:
    """A warning for every sweep whose longest run would take more than WARN_RUN_SECONDS at the assumed
    throughput (scalinglab.resources)."""
    from .. import resources

    worst: dict[str, tuple[float, dict]] = {}
    estimates = resources.estimated_seconds_of_runs(specs)
    for spec in specs:
        seconds = estimates[spec["run_path"]]
        if seconds is not None and seconds > worst.get(spec["sweep"], (0.0, None))[0]:
            worst[spec["sweep"]] = (seconds, spec)
    warnings = []
    for sweep, (seconds, spec) in worst.items():
        if seconds > WARN_RUN_SECONDS:
            device = "GPU" if resources.gpus(spec) else "one CPU thread"
            rate = resources.GPU_FLOPS_PER_S if resources.gpus(spec) else resources.CPU_FLOPS_PER_S
            warnings.append(f"sweep {sweep!r}: run {spec['run_path']} is estimated at {duration(seconds)} on {device} "
                            f"({resources.estimate_flops(spec):.3g} FLOPs at {rate:.3g} FLOP/s, scalinglab.resources);"
                            " check its budget")
    return warnings


def duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} seconds"

