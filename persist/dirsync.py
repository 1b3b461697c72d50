"""Coalesced directory syncs: one fsync of a directory covers every name created before it
started, so concurrent new uploads share one instead of queueing one each.

A caller needs a sync that *starts after* its call (its file already exists then). If
one is running, the caller waits for the next one, which a single waiter starts when the
running one ends. Called from worker threads (commits run there), hence threading.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class DirSyncer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.syncs = 0  # how many fsyncs actually ran (tests and curiosity)
        self._cond = threading.Condition()
        self._started = 0
        self._done = 0
        self._running = False

    def sync(self) -> None:
        with self._cond:
            needed = self._started + 1  # the first sync that starts after this call
            while self._done < needed:
                if not self._running:
                    self._running = True
                    self._started += 1
                    generation = self._started
                    break
                self._cond.wait()
            else:
                return
        ok = False
        try:
            _fsync_dir(self.path)
            ok = True
        finally:
            with self._cond:
                if ok:  # a failed sync covers nobody: waiters start their own
                    self._done = max(self._done, generation)
                    self.syncs += 1
                self._running = False
                self._cond.notify_all()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
