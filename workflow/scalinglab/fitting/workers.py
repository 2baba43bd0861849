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
or when no worker can be started. A worker dies with the process that forked it. An error raised in a worker is
raised here, with the worker's traceback as a note, as soon as this process finishes the item it is running; a
worker's death is reported as soon as it is noticed, and either stops the batch.
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
    """In a new worker: be killed when the parent dies (even by SIGKILL), and leave at once if it is already gone;
    leave Ctrl-C to the parent, which kills its workers when interrupted."""
    import ctypes
    import signal

    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops the workers
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
        self.readers: dict = {}  # the read end of each worker's own pipe -> that worker's process
        self.out = None  # the results, once returned
        children = min(int(workers) - 1, len(self.items))
        if children < 1 or _IN_WORKER or not sys.platform.startswith("linux"):
            return
        import multiprocessing

        if multiprocessing.current_process().daemon:
            return
        context = multiprocessing.get_context("fork")
        self.unclaimed = context.Array("q", [0, len(self.items)])  # [front, back): items nobody has started
        try:
            for _ in range(children):
                self._start_worker(context)
        except OSError:  # no more processes could be forked (a process limit): those started share the batch
            pass
        except BaseException:
            self.close(abandon=True)
            raise

    def _start_worker(self, context) -> None:
        # a pipe per worker: a worker that dies mid-message ends its own pipe (EOF here), no one else's
        reader, writer = context.Pipe(duplex=False)
        try:
            _widen(writer)
            process = context.Process(target=self._work, args=(os.getpid(), writer), daemon=True)
            process.start()
        except BaseException:
            reader.close()
            raise
        finally:
            writer.close()  # the worker's end, closed here once it is forked: the worker's exit is then an EOF
        self.processes.append(process)
        self.readers[reader] = process

    @property
    def busy(self) -> int:
        """Workers of this batch still at work (a worker leaves once nothing is unclaimed)."""
        return sum(process.is_alive() for process in self.processes)

    def _claim(self, end: int) -> int | None:
        """The next unclaimed item from the front (end 0) or the back (end 1), or None when none is left."""
        with self.unclaimed.get_lock():
            front, back = self.unclaimed[0], self.unclaimed[1]
            if front >= back:
                return None
            self.unclaimed[end] += 1 if end == 0 else -1
            return front if end == 0 else back - 1

    def _work(self, parent: int, writer) -> None:
        """A worker's life: items from the front until the batch is all claimed, each result sent back."""
        _die_with(parent)
        for reader in self.readers:  # the pipes of the workers forked before, inherited: not this one's to hold
            reader.close()
        while (index := self._claim(0)) is not None:
            try:
                writer.send((index, True, self.fn(self.items[index])))
            except BaseException as error:  # sent back, and raised there
                writer.send((index, False, _portable(error)))
                return

    def results(self) -> list:
        """fn(item) of every item, in order: this process runs, from the back, what no worker has claimed, then waits
        for the workers' results (the same list again on a second call)."""
        if self.out is not None:
            return self.out
        if not self.processes:
            self.out = [self.fn(item) for item in self.items]
            return self.out
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
        self.out = out
        return out

    def _receive(self, out: list, pending: set, wait: bool) -> None:
        """Take the results that have arrived (wait: block until something does); raise a worker's error or death."""
        from multiprocessing.connection import wait as ready

        if not self.readers:
            if wait and pending:
                raise RuntimeError(f"the fit workers finished without returning item(s) {sorted(pending)}")
            return
        for reader in ready(list(self.readers), timeout=None if wait else 0):
            self._take(reader, out, pending)

    def _take(self, reader, out: list, pending: set) -> None:
        """One message from a worker's pipe into `out`, or the worker's end (EOF: its pipe closed as it exited)."""
        try:
            index, ok, value = reader.recv()
        except (EOFError, OSError):  # the worker has gone: after its last result, or in the middle of an item
            process = self.readers.pop(reader)
            reader.close()
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"a fit worker died (exit code {process.exitcode}) before returning item(s) "
                                   f"{sorted(pending)}") from None
            return
        if not ok:
            raise value
        out[index] = value
        pending.discard(index)

    def close(self, abandon: bool = False) -> None:
        """Let the workers end (they leave once nothing is unclaimed); `abandon`: on an error, kill them mid-item."""
        for process in self.processes:
            if abandon:
                process.kill()
            process.join()
        for reader in self.readers:
            reader.close()
        self.processes, self.readers = [], {}


def _widen(writer) -> None:
    """A 1 MiB pipe where Linux allows it (64 KiB by default): a worker sends a larger result and goes on to its next
    item instead of waiting for this process to read it."""
    import contextlib
    import fcntl

    F_SETPIPE_SZ = 1031  # linux/fcntl.h
    with contextlib.suppress(OSError):
        fcntl.fcntl(writer.fileno(), F_SETPIPE_SZ, 1 << 20)


def _portable(error: BaseException) -> BaseException:
    """`error` with the worker's traceback as a note, or a RuntimeError saying what it was when it would not survive
    the trip back (an exception whose constructor takes other arguments than it keeps)."""
    import pickle
    import traceback

    where = "".join(traceback.format_exception(error))
    try:
        error.add_note(f"raised in a fit worker (pid {os.getpid()}):\n{where}")
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"a fit worker (pid {os.getpid()}) raised {error!r}:\n{where}")
