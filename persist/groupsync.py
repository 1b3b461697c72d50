"""Group commit for small bodies: one `syncfs` makes a whole batch of new files durable.

Why: a small upload's own durability work is a handful of syscalls (create, write,
fdatasync, directory fsync, close), each of which, done in a worker thread, hands the GIL
back and forth with the event loop: on small uploads, futex calls were a third of the
server's CPU. Here the event loop writes the bytes itself (page-cache writes are short)
and asks for a sync; one thread runs `syncfs` on the data directory's filesystem, which
writes and waits for every dirty page and the journal (file data, inodes and directory
entries alike), then completes every request that was made before it started, with one
wake-up of the loop for the whole batch.

A request is covered only by a sync that *started after* it (its bytes were written
before the request). A failed sync covers nobody: its requests get the error.
`syncfs` is Linux-only (found through ctypes); `GroupSyncer.available()` says whether
it can be used, and the store falls back to per-file syncs in a thread otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable
from pathlib import Path

IDLE_EXIT_SECONDS = 30.0

_Syncfs = Callable[[int], int]


def _load_syncfs() -> _Syncfs | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.syncfs  # ctypes releases the GIL for the call
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _load_syncfs()


class GroupSyncer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.syncs = 0  # how many syncfs calls succeeded (tests and curiosity)
        self._cond = threading.Condition()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._thread: threading.Thread | None = None
        self._fd: int | None = None  # opened by the thread on first use, kept open

    @staticmethod
    def available() -> bool:
        return _SYNCFS is not None

    def sync(self) -> asyncio.Future[None]:
        """A future done when a filesystem sync that started after this call succeeded."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._waiting.append((loop, future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="persist-syncfs", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    idle = not self._cond.wait(timeout=IDLE_EXIT_SECONDS)
                    if idle and not self._waiting:
                        self._thread = None  # the next request starts another
                        return
                batch, self._waiting = self._waiting, []
            error: OSError | None = None
            try:
                self._syncfs()
            except OSError as exc:
                error = exc
            else:
                self.syncs += 1
            _complete(batch, error)

    def _syncfs(self) -> None:
        """One long-lived descriptor: `syncfs` reports writeback errors that happened
        since the previous call on it, so none falls between two syncs."""
        assert _SYNCFS is not None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if _SYNCFS(self._fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(self.path))


def _complete(
    batch: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]], error: OSError | None
) -> None:
    """One wake-up per event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, future in batch:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for future in futures:
        if future.done():
            continue  # cancelled meanwhile
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
