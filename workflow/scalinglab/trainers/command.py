"""The command trainer: a sweep with `trainer: command` runs the user's own training script once per run.

    command: "python train.py --width {width} --tokens {budget} --seed {seed} --out {out_dir}"

Placeholders share one flat namespace (`placeholders`): every key of the run's architecture (the sweep's
`architecture` merged with one size), `budget`, `seed`, `run_id`, `attempt` (1, then 2 on the first retry, ...),
`out_dir` (the run's folder), every key of `train`, `data_dir` (the prepared dataset's folder, when the sweep names
a dataset) and `spec` (the path of a JSON file holding the whole run spec, written for the command). Values are
shell-quoted; lists and mappings arrive as JSON, booleans as true/false. `{{` and `}}` are literal braces. The
command runs through the shell in the directory snakemake runs in; its output goes to the job's log.

The output contract: the command writes `{out_dir}/metrics.json`, a JSON object with at least `final_val_loss` and
`n_params` (as the script counts them) as finite numbers. Optional, with the names of docs/metrics.md:
`n_params_nonembedding` (default n_params), `tokens_seen` or `samples_seen` (default: the run's budget), `flops`
(default 6 N D, then `flops_estimated` is true), and `curve`: a list of objects with `step` and metric values, which
become rows of curves.parquet. Every other numeric key becomes a column of metrics.parquet. scalinglab checks the
file, adds the spec, the environment and the time it measured, and writes run.json like the built-in trainer.

Retries run the command again with `attempt` + 1; resuming is the script's business (for example: checkpoint into
`{out_dir}` and pick the checkpoint up when it is there).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import string
import subprocess
import sys
import time
from pathlib import Path

from .. import atomic
from . import record

RESERVED = ("budget", "seed", "run_id", "attempt", "out_dir", "data_dir", "spec")
REQUIRED = ("final_val_loss", "n_params")
METRICS_FILE = "metrics.json"
SPEC_FILE = "spec.json"


class CommandError(RuntimeError):
    """The command failed, or broke the output contract."""


def template_fields(command: str) -> list[str]:
    """The placeholder names a command template uses, in order; raises ValueError for a malformed template."""
    try:
        parsed = list(string.Formatter().parse(command))
    except ValueError as error:
        raise ValueError(f"command {command!r}: {error} (write {{{{ and }}}} for literal braces)") from None
    names = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            written = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"command {command!r}: placeholder {written} must be a plain name such as {{seed}} "
                             "(no conversion, format spec, attribute or index: values are passed as shell-quoted text)")
        names.append(field)
    return names


def placeholder_names(architecture: dict, train: dict, has_dataset: bool) -> dict:
    """{name: where it comes from} of every placeholder of a run; raises ValueError for a name given twice."""
    names = {name: "reserved" for name in RESERVED if name != "data_dir" or has_dataset}
    for origin, keys in (("architecture", architecture), ("train", train)):
        for key in keys:
            if key in names:
                raise ValueError(f"{origin} key {key!r} clashes with the placeholder {{{key}}} of the "
                                 f"{names[key]} names ({', '.join(RESERVED)}, then architecture and train keys): "
                                 "rename it")
            names[key] = origin
    return names


def check_command(command: str, architecture: dict, train: dict, has_dataset: bool) -> None:
    """A command template whose placeholders all exist for this run (called for every run before any job)."""
    known = placeholder_names(architecture, train, has_dataset)
    unknown = [name for name in template_fields(command) if name not in known]
    if unknown:
        raise ValueError(f"command {command!r}: unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)};"
                         f" known: {', '.join(sorted(known))}")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def render(spec: dict, out_dir, data_dir, attempt: int, spec_path) -> str:
    """The shell command of one run: its template with every placeholder filled and shell-quoted."""
    architecture, train = spec.get("architecture") or {}, spec.get("train") or {}
    check_command(spec["command"], architecture, train, data_dir is not None)
    values = {**architecture, **train, "budget": spec["budget"], "seed": spec["seed"], "run_id": spec["run_id"],
              "attempt": attempt, "out_dir": str(out_dir), "spec": str(spec_path)}
    if data_dir is not None:
        values["data_dir"] = str(data_dir)
    return spec["command"].format(**{key: shlex.quote(_text(value)) for key, value in values.items()})


def run_command(spec: dict, data_dir, out_dir, attempt: int = 1) -> dict:
    """Run the command of one run, check its metrics.json and write run.json; returns the run.json dict."""
    started_at, wall_start = record.utc_now(), time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = out_dir / METRICS_FILE
    metrics_path.unlink(missing_ok=True)  # an earlier attempt's file must not pass for this one's
    spec_path = atomic.write_json(out_dir / SPEC_FILE, spec)
    line = render(spec, out_dir, data_dir, attempt, spec_path)
    print(f"scalinglab train: running (attempt {attempt}): {line}", file=sys.stderr, flush=True)
    completed = subprocess.run(line, shell=True, env={**os.environ, "SCALINGLAB_ATTEMPT": str(attempt)})
    wall_s = time.perf_counter() - wall_start
    if completed.returncode != 0:
        status = completed.returncode
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise CommandError(f"the command {how} (its output is above in the log): {line}")
    reported = read_metrics(metrics_path)
    metrics, curve = contract_metrics(spec, reported)
    metrics["wall_s"] = wall_s
    env = {**record.environment(), "command": line}
    return record.write(out_dir, spec, metrics, curve, env, started_at)


def read_metrics(path: Path) -> dict:
    if not path.is_file():
        raise CommandError(f"the command exited with status 0 but wrote no {path} (the output contract: a JSON "
                           f"object with at least {', '.join(REQUIRED)})")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        reported = json.loads(text)
    except ValueError as error:
        raise CommandError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(reported, dict):
        raise CommandError(f"{path} holds a JSON {type(reported).__name__}, not an object of metrics")
    return reported


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def contract_metrics(spec: dict, reported: dict) -> tuple[dict, list]:
    """(metrics, curve) of a run from what its command reported, checked and completed with the defaults."""
    path = f"{{out_dir}}/{METRICS_FILE}"
    for key in REQUIRED:
        if key not in reported:
            raise CommandError(f"{path} has no {key!r} (required: {', '.join(REQUIRED)}; it has "
                               f"{', '.join(sorted(reported)) or 'nothing'})")
        if not _number(reported[key]) or not math.isfinite(reported[key]):
            raise CommandError(f"{path}: {key} is {reported[key]!r}, not a finite number")
    seen_key = next((key for key in ("tokens_seen", "samples_seen") if key in reported),
                    f"{spec.get('budget_unit') or 'samples'}_seen")
    metrics = {key: value for key, value in reported.items()
               if key != "curve" and (_number(value) or isinstance(value, bool) or value is None)}
    ignored = sorted(set(reported) - set(metrics) - {"curve"})
    if ignored:
        print(f"scalinglab train: ignoring non-numeric key(s) of {METRICS_FILE}: {', '.join(ignored)}", file=sys.stderr)
    n_params = metrics["n_params"]
    metrics.setdefault("n_params_nonembedding", n_params)
    metrics.setdefault(seen_key, spec["budget"])
    units = metrics[seen_key]
    metrics["flops_6nd"] = 6.0 * metrics["n_params_nonembedding"] * units
    metrics["flops_estimated"] = "flops" not in metrics
    metrics.setdefault("flops", 6.0 * n_params * units)
    metrics.update({"status": "ok", "error": None, "divergence_rule": None, "diverged_step": None})
    return metrics, contract_curve(reported.get("curve"), path)


def contract_curve(curve, path: str) -> list:
    if curve is None:
        return []
    if not isinstance(curve, list) or not all(isinstance(row, dict) for row in curve):
        raise CommandError(f"{path}: curve must be a list of objects, each with a step and metric values")
    rows = []
    for i, row in enumerate(curve):
        if not _number(row.get("step")):
            raise CommandError(f"{path}: curve row {i} has no numeric step")
        bad = [k for k, v in row.items() if not (_number(v) or v is None)]
        if bad:
            raise CommandError(f"{path}: curve row {i}: {', '.join(bad)} are not numbers")
        rows.append(row)
    return rows
