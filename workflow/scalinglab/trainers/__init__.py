"""Trainers: one run spec in, `out_dir/run.json` out (the same record whatever the trainer; docs/metrics.md).

- `builtin`: the training loop for the model families of `scalinglab.models` (named steps: setup, resume, the loop,
  the final evaluation, the result);
- `command`: the user's own training script (`trainer: command`), whose metrics.json becomes the run's record;
  its pieces: `device` (one thread, determinism), `model` (build, count, check the output), `data` (batches and
  evaluation sets), `optim` (AdamW and clipping), `checkpoint`, `divergence` (the rule);
- `settings`: the `train` block and its step arithmetic (also used, torch-free, to size cluster jobs);
- `record`: run.json, timing fields, the environment; `hooks`: the test hooks (environment variables).

`train_with_policy` is the one place that decides what an error means for the workflow (retries, `on_failure`).
Importing this package is cheap (standard library only); torch is imported when a run starts.
"""

from __future__ import annotations

from .record import TIMING_FIELDS, failed_result

__all__ = ["TIMING_FIELDS", "failed_result", "failure_message", "run", "train_with_policy"]


def run(spec: dict, data_dir, out_dir, attempt: int = 1) -> dict:
    """Train one run with its spec's trainer; returns the run.json dict. Raises on errors."""
    from . import hooks

    hooks.fail_if_asked(spec, attempt)
    if spec.get("trainer", "builtin") == "command":
        from .command import run_command

        return run_command(spec, data_dir, out_dir, attempt=attempt)
    from .builtin import run_training

    return run_training(spec, data_dir, out_dir, attempt=attempt)


def failure_message(spec: dict, error: BaseException, log: str | None = None) -> str:
    """One line naming the sweep, the run, what went wrong (with the user's file and line, when the error is in
    the user's code) and the job's log."""
    where = f"sweep {spec.get('sweep')!r}, run {spec.get('run_path') or spec.get('run_id')}"
    return f"{where}: {type(error).__name__}: {error}" + (f" (log: {log})" if log else "")


def train_with_policy(spec: dict, data_dir, out_dir, *, attempt: int = 1, max_attempts: int = 1,
                      on_failure: str | None = None, log: str | None = None) -> dict:
    """`run` under the workflow's failure policy; returns the run.json dict.

    An error on the last attempt (attempt >= max_attempts) of a run whose on_failure is "record" (the spec's, unless
    `on_failure` overrides it) writes run.json with status "failed" and the error (`failure_message`), and returns
    it, so the study goes on without it. Any other error propagates: the job fails, and snakemake retries it (with
    attempt + 1) or stops."""
    try:
        return run(spec, data_dir, out_dir, attempt=attempt)
    except Exception as error:
        if attempt >= max_attempts and (on_failure or spec.get("on_failure", "stop")) == "record":
            return failed_result(spec, out_dir, failure_message(spec, error, log))
        raise
