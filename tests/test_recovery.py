"""What the workflow repairs when it starts (scalinglab.recovery), without snakemake: damaged records and the locks a
killed run leaves behind. tests/test_isolation.py runs the same through the real snakemake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scalinglab import atomic, recovery


def test_damage_is_seen_in_the_last_bytes(tmp_path):
    record = atomic.write_json(tmp_path / "run.json", {"spec": {}, "metrics": {"status": "ok"}})
    assert recovery.damage(record) is None
    record.write_bytes(record.read_bytes()[:-5])
    assert recovery.damage(record) == "it is truncated (its JSON does not end)"
    empty = tmp_path / "meta.json"
    empty.write_bytes(b"")
    assert recovery.damage(empty) == "it is empty"
    data = tmp_path / "data.npz"
    with open(data, "wb") as handle:
        np.savez(handle, x=np.arange(1000))
    assert recovery.damage(data) is None
    data.write_bytes(data.read_bytes()[:-30])
    assert recovery.damage(data) == "it is truncated (no zip directory at its end)"
    assert recovery.damage(tmp_path / "missing.json") is None


@pytest.mark.parametrize("walk", [False, True], ids=["each path", "one walk of the folder"])
def test_damaged_records_are_set_aside_with_a_message(tmp_path, monkeypatch, walk):
    good = atomic.write_json(tmp_path / "a" / "run.json", {"metrics": {}})
    bad = tmp_path / "b" / "run.json"
    bad.parent.mkdir()
    bad.write_text('{"metrics": {"sta')
    unlisted = tmp_path / "d" / "run.json"  # not a run of the study: left alone
    unlisted.parent.mkdir()
    unlisted.write_text('{"metrics": {"sta')
    monkeypatch.chdir(tmp_path)  # the workflow names its runs relative to the working directory
    listed = [Path("a/run.json"), Path("b/run.json"), Path("c/run.json")]
    messages = recovery.set_aside_damaged(listed, under="." if walk else None)
    bad = Path("b/run.json")
    assert messages == [f"{bad} is damaged: it is truncated (its JSON does not end); moved it to {bad}.damaged, "
                        "it will be rebuilt"]
    assert good.is_file() and not bad.exists() and (tmp_path / "b" / "run.json.damaged").is_file()
    assert unlisted.is_file()


def test_a_damaged_dataset_cache_is_prepared_again_in_place(tmp_path):
    from scalinglab import datasets

    folder = tmp_path / "iris" / "x"
    datasets.prepare("iris", {}, folder)
    good = (folder / "data.npz").read_bytes()
    (folder / "data.npz").write_bytes(good[:100])
    message = recovery.repair_dataset("iris", {}, folder)
    assert message.startswith(f"damaged dataset cache ({folder / 'data.npz'}: it is truncated")
    assert (folder / "data.npz").read_bytes() == good and recovery.repair_dataset("iris", {}, folder) is None


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_locks_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    locks = recovery.StaleLocks(tmp_path)
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    lock = tmp_path / ".snakemake" / "locks" / "0.output.lock"
    lock.write_text(json.dumps(["results/x"]))
    # locks without a marker of this workflow (another workflow's): untouched
    assert locks.clear() is None and lock.exists()
    # a marker of a live snakemake: its locks are real
    locks.markers.mkdir(parents=True)
    live = subprocess.Popen([sys.executable, "-c", "import sys, time; print(1, flush=True); time.sleep(30)",
                             "snakemake"], stdout=subprocess.PIPE)
    live.stdout.readline()  # it runs (its command line is its own, not its parent's)
    try:
        (locks.markers / f"main.{live.pid}").write_text("")
        assert locks.clear() is None and lock.exists()
    finally:
        live.kill()
        live.wait()
    # every marked process is gone (kill -9): the locks are stale
    assert "removed the locks left by a snakemake of this workflow" in locks.clear()
    assert not lock.exists() and not list(locks.markers.iterdir())
    # without locks, markers of processes that are gone are only tidied away
    (locks.markers / f"main.{dead_pid()}").write_text("")
    assert locks.clear() is None and not list(locks.markers.iterdir())
