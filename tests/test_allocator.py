"""`scalinglab.allocator`: every command keeps freed memory for reuse, so large short-lived arrays stop costing page
faults. Each case runs in a process of its own, since malloc's settings are process-wide."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from scalinglab.allocator import is_glibc

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"
ARRAY_PAGES = (16 << 20) // resource.getpagesize()  # pages of a 16 MiB array, as a fit's residuals at many rows

# 20 rounds (after one warm-up) of an iteration's temporaries, as in a fit's loop: four 16 MiB arrays alive at
# once, then freed; the minor page faults of those 20 rounds.
FAULTS = """
import json, resource, sys
import numpy as np
{setup}
def iteration():
    a = np.ones(2 << 20)
    b = a * 2.0
    c = a + b
    return float((c * a).sum())
iteration()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    iteration()
print(json.dumps({{"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, "set": {result}}}))
"""


def faults(setup: str = "", result: str = "None", env: dict | None = None) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    # numpy asks for transparent huge pages on large arrays, where the kernel has them on request: one fault then
    # maps 2 MiB, and how many it takes would depend on the host's THP setting, not on malloc
    base["NUMPY_MADVISE_HUGEPAGE"] = "0"
    code = FAULTS.format(setup=setup, result=result)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=WORKFLOW,
                         env={**base, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


glibc = pytest.mark.skipif(not is_glibc(), reason="mallopt's thresholds exist only in glibc; elsewhere "
                           "keep_freed_memory changes nothing (musl, macOS, Windows)")


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    plain = faults()
    kept = faults("from scalinglab.allocator import keep_freed_memory\nok = keep_freed_memory()", "ok")
    # glibc alone: the four arrays of every round faulted in afresh, page by page; kept: none
    assert plain["faults"] > 20 * ARRAY_PAGES
    assert kept["set"] is True
    assert kept["faults"] < ARRAY_PAGES // 4  # the same block comes back from the heap


@glibc
def test_the_command_sets_it_before_its_work():
    # `scalinglab laws` (the catalogue: no large array of its own) through the console script's entry point
    kept = faults("import io, contextlib\nfrom scalinglab.cli import entry\nsys.argv = ['scalinglab', 'laws']\n"
                  "with contextlib.redirect_stdout(io.StringIO()):\n    entry()")
    assert kept["faults"] < ARRAY_PAGES // 4


@glibc
def test_main_alone_leaves_the_callers_process_as_it_was():
    # tests and notebooks call cli.main inside their own process: malloc stays as they set it
    plain = faults("import io, contextlib\nfrom scalinglab.cli import main\n"
                   "with contextlib.redirect_stdout(io.StringIO()):\n    main(['laws'])")
    assert plain["faults"] > 20 * ARRAY_PAGES


@glibc
@pytest.mark.parametrize("env", [{"MALLOC_TOP_PAD_": "0"}, {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}])
def test_users_own_malloc_tuning_is_left_alone(env):
    tuned = faults("from scalinglab.allocator import keep_freed_memory\nok = keep_freed_memory()", "ok", env=env)
    assert tuned["set"] is False
