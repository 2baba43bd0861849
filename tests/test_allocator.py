"""`scalinglab.allocator`: every command keeps freed memory for reuse, so large short-lived arrays stop costing page
faults. Each case runs in a process of its own, since malloc's settings are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"
ARRAY_PAGES = (16 << 20) // 4096  # pages of a 16 MiB array, as a fit's residuals of all starts at many rows

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
    code = FAULTS.format(setup=setup, result=result)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=WORKFLOW,
                         env={**base, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION")
                           .startswith("glibc"), reason="the thresholds are glibc's")


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    plain = faults()
    kept = faults("from scalinglab.allocator import keep_freed_memory\nok = keep_freed_memory()", "ok")
    # glibc alone (here: about 2 of every round's 4 arrays refaulted) against none
    assert plain["faults"] > 5 * ARRAY_PAGES
    assert kept["set"] is True
    assert kept["faults"] < ARRAY_PAGES // 4  # the same block comes back from the heap


@glibc
def test_every_command_sets_it_before_its_work():
    # `scalinglab laws` (the catalogue: no large array of its own) through the command's entry point
    kept = faults("import io, contextlib\nfrom scalinglab.cli import main\n"
                  "with contextlib.redirect_stdout(io.StringIO()):\n    main(['laws'])")
    assert kept["faults"] < ARRAY_PAGES // 4


@glibc
def test_users_own_malloc_tuning_is_left_alone():
    tuned = faults("from scalinglab.allocator import keep_freed_memory\nok = keep_freed_memory()", "ok",
                   env={"MALLOC_TOP_PAD_": "0"})
    assert tuned["set"] is False
