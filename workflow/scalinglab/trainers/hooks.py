"""Test hooks: environment variables, read by the trainers only, that make a job fail or die on purpose.

They are not configuration (a study cannot set them, and they change no run's identity); tests set them in the
environment of `snakemake` or `scalinglab train`, and `sbatch` passes the environment on to cluster jobs.

    SCALINGLAB_TEST_FAIL_ATTEMPTS=K   attempts 1..K of a run raise InjectedFailure before any work, to exercise
                                      retries and `on_failure` (K=99: every attempt fails)
    SCALINGLAB_TEST_FAIL_RUNS=GLOB    limits the failures to runs whose run_path matches GLOB (fnmatch; default *)
    SCALINGLAB_TEST_KILL_AT_STEP=S    the built-in trainer writes a checkpoint after step S and kills its own
                                      process with SIGKILL: a deterministic crash for the resume tests
"""

from __future__ import annotations

import fnmatch
import os
import signal

FAIL_ATTEMPTS = "SCALINGLAB_TEST_FAIL_ATTEMPTS"
FAIL_RUNS = "SCALINGLAB_TEST_FAIL_RUNS"
KILL_AT_STEP = "SCALINGLAB_TEST_KILL_AT_STEP"


class InjectedFailure(RuntimeError):
    """Raised on purpose by SCALINGLAB_TEST_FAIL_ATTEMPTS."""


def _int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} must be a whole number") from None


def fail_if_asked(spec: dict, attempt: int) -> None:
    attempts = _int(FAIL_ATTEMPTS)
    if not attempts or attempt > attempts:
        return
    pattern = os.environ.get(FAIL_RUNS, "").strip() or "*"
    if fnmatch.fnmatchcase(str(spec.get("run_path", "")), pattern):
        raise InjectedFailure(f"injected failure on attempt {attempt} ({FAIL_ATTEMPTS}={attempts})")


def kill_step() -> int | None:
    """The step after which the trainer checkpoints and kills itself, or None."""
    return _int(KILL_AT_STEP)


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
