"""Fits that do not depend on each other, run side by side in forked worker processes.

A fit's numpy work is many small array operations, each holding the GIL, so threads do not overlap them (the
Chinchilla backtest's three origin fits took longer in two threads than in one); processes do. The workers are
forked when a batch starts, so they inherit the function and the items as they are (a law may hold functions that
do not pickle): only a result (picklable) comes back. The arithmetic is the same in a worker as in this process, so
the results are the same bits whatever the number of workers.

`workers` counts the processes a batch may keep busy, this one included: this process goes on with its own work
while up to `workers - 1` others take the batch's items from its front, one at a time, each when it starts it; when
this process asks for the results, it takes items from the back, one at a time, until the two meet. Nobody claims an
item before starting it, so the batch splits by the time its items take, whatever each costs.

Everything runs here, one item after another, with 1; where fork is not the platform's way (macOS, Windows); inside
a daemonic process (which may have no children) or a worker (the CPUs are the first forking process's to share out);
or when no worker can be started. A worker dies with the process that forked it, and an error in either stops the
batch at once.
"""

from __future__ import annotations

import os
import sys

_IN_WORKER = False  # True in a worker: a batch started there runs there
POLL_S = 0.2  # how often this process, waiting for a worker's result, checks that the workers are alive


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (what SLURM or taskset allotted), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _die_with(parent: int) -> None:
    """In a new worker: be killed when the parent dies (even by SIGKILL), and leave at once if it is already gone."""
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
    them in order (running here, from the back, the items no worker has started)."""

    def __init__(self, fn, items, workers: int = 1):
        self.fn, self.items = fn, list(items)
        self.processes: list = []
        children = min(int(workers) - 1, len(self.items))
        if children < 1 or _IN_WORKER or not sys.platform.startswith("linux"):
            return
        import multiprocessing

        if multiprocessing.current_process().daemon:
            return
        context = multiprocessing.get_context("fork")
        self.unclaimed = context.Array("q", [0, len(self.items)])  # [front, back): items nobody has started
        # results come back through one pipe: (index, ok, result or exception), pickled as they are sent
        self.reader, self.writer = context.Pipe(duplex=False)
        self.writing = context.Lock()  # one worker's message at a time
        try:
            for _ in range(children):
                process = context.Process(target=self._work, args=(os.getpid(),), daemon=True)
                process.start()
                self.processes.append(process)
        except OSError:  # no more processes could be forked (a process limit): those started share the batch
            if not self.processes:
                self.close()  # none: everything runs here

    def _claim(self, end: int) -> int | None:
        """The next unclaimed item from the front (end 0) or the back (end 1), or None when none is left."""
        with self.unclaimed.get_lock():
            front, back = self.unclaimed[0], self.unclaimed[1]
            if front >= back:
                return None
            self.unclaimed[end] += 1 if end == 0 else -1
            return front if end == 0 else back - 1

    def _work(self, parent: int) -> None:
        """A worker's life: items from the front until the batch is all claimed, each result sent back."""
        _die_with(parent)
        while (index := self._claim(0)) is not None:
            try:
                message = (index, True, self.fn(self.items[index]))
            except BaseException as error:  # sent back, and raised there
                message = (index, False, error)
            with self.writing:
                try:
                    self.writer.send(message)
                except Exception as error:  # a result or an error that does not pickle
                    message = (index, False, RuntimeError(f"item {index}: cannot send it back: {error!r}"))
                    self.writer.send(message)
            if not message[1]:
                return

    def results(self) -> list:
        if not self.processes:
            return [self.fn(item) for item in self.items]
        out, pending = [None] * len(self.items), set(range(len(self.items)))
        try:
            while (index := self._claim(1)) is not None:
                self._receive(out, pending, wait=False)  # a worker's error stops the batch before more work here
                out[index] = self.fn(self.items[index])
                pending.discard(index)
            while pending:
                self._receive(out, pending, wait=True)
        except BaseException:
            self.close(abandon=True)
            raise
        self.close()
        return out

    def _receive(self, out: list, pending: set, wait: bool) -> None:
        """Take the workers' results that have arrived (wait: at least one, checking that the workers are alive)."""
        while True:
            if not self.reader.poll(POLL_S if wait else 0):
                if not wait:
                    return
                self._check_alive(pending)
                continue
            index, ok, value = self.reader.recv()
            if not ok:
                raise value
            out[index] = value
            pending.discard(index)
            wait = False

    def _check_alive(self, pending: set) -> None:
        codes = [process.exitcode for process in self.processes]
        if any(code not in (None, 0) for code in codes):
            raise RuntimeError(f"a fit worker died (exit code {next(c for c in codes if c not in (None, 0))}) "
                               f"before returning item(s) {sorted(pending)}")
        if all(code == 0 for code in codes) and not self.reader.poll(0):
            raise RuntimeError(f"the fit workers finished without returning item(s) {sorted(pending)}")

    def close(self, abandon: bool = False) -> None:
        """Let the workers end (they leave once nothing is unclaimed); `abandon`: on an error, kill them mid-item."""
        for process in self.processes:
            if abandon:
                process.kill()
            process.join()
        if hasattr(self, "reader"):
            self.reader.close()
            self.writer.close()
            del self.reader, self.writer
        self.processes = []
