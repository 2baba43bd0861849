"""Fits that do not depend on each other, run side by side in forked worker processes.

A fit's numpy work is many small array operations, each holding the GIL, so threads do not overlap them (the
Chinchilla backtest's three origin fits took longer in two threads than in one); processes do. The workers are
forked when a batch starts, so they inherit the law and the data as they are (a law may hold functions that do not
pickle): only an item's index goes to a worker, and its (picklable) result comes back. The arithmetic is the same in
a worker as in this process, so the results are the same bits whatever the number of workers.

`workers` counts the processes a batch may keep busy, this one included: this process goes on with its own work
while up to `workers - 1` others take the batch from its front; when it asks for the results, it runs, from the
back, whatever of the batch no worker has started. Everything runs here, one item after another, with 1; where fork
is not the platform's way (macOS, Windows); inside a daemonic process (which may have no children); or when the
workers cannot be started. A worker dies with the process that forked it, and an error in that process stops its
workers at once.
"""

from __future__ import annotations

import itertools
import os
import sys

_BATCHES: dict = {}  # token -> (fn, items) of the batches started: what a forked worker reads
_TOKENS = itertools.count()
_IN_WORKER = False  # True in a worker: a batch started there runs there (the CPUs are the forking process's to share)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (what SLURM or taskset allotted), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _run(token: int, index: int):
    fn, items = _BATCHES[token]
    return fn(items[index])


def _die_with(parent: int) -> None:
    """Worker initializer: be killed when the parent dies (even by SIGKILL: it cannot close the queue the worker
    waits on), and leave at once if it is already gone."""
    import ctypes
    import signal

    global _IN_WORKER
    _IN_WORKER = True
    PR_SET_PDEATHSIG = 1  # linux/prctl.h
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


class InBackground:
    """fn(item) for every item of `items`, started now in up to `workers - 1` forked processes; `results()` returns
    them in order (running here the items no worker has started)."""

    def __init__(self, fn, items, workers: int = 1):
        self.fn, self.items = fn, list(items)
        self.executor, self.futures, self.token = None, [], None
        children = min(int(workers) - 1, len(self.items))
        if children < 1 or _IN_WORKER or not sys.platform.startswith("linux"):
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if multiprocessing.current_process().daemon:
            return
        self.token = next(_TOKENS)
        _BATCHES[self.token] = (fn, self.items)  # before the fork: the workers see it
        try:
            self.executor = ProcessPoolExecutor(children, mp_context=multiprocessing.get_context("fork"),
                                                initializer=_die_with, initargs=(os.getpid(),))
            self.futures = [self.executor.submit(_run, self.token, i) for i in range(len(self.items))]
        except OSError:  # no process could be forked (a process limit): run here
            self.close(abandon=True)

    def results(self) -> list:
        if self.executor is None:
            return [self.fn(item) for item in self.items]
        try:
            out = [None] * len(self.items)
            # Workers take the batch from the front (the executor hands items out in order), so this process takes
            # it back from the end: every item still queued (not handed to a worker) runs here, and the two meet
            # where the work splits evenly, whatever each item costs.
            taken_back = len(self.items)
            while taken_back > 0 and self.futures[taken_back - 1].cancel():
                taken_back -= 1
                out[taken_back] = self.fn(self.items[taken_back])
            for i in range(taken_back):
                out[i] = self.futures[i].result()
        except BaseException:
            self.close(abandon=True)
            raise
        self.close()
        return out

    def close(self, abandon: bool = False) -> None:
        """Stop the workers (idle once the results are in); `abandon`: on an error, kill them mid-item."""
        if self.executor is not None:
            if abandon:
                # ProcessPoolExecutor (before Python 3.14) cannot stop an item a worker has begun: end the workers
                for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                    process.kill()
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor, self.futures = None, []
        _BATCHES.pop(self.token, None)
