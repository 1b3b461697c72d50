"""WAL checkpoints in a thread of their own, never in a write on the event loop.

SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past 1,000
pages: it copies those pages into the database file and fsyncs it, in the committing
call. With a few thousand records that is a handful of pages and nobody notices. With a
million, each insert of a random 128-bit id dirties its own B-tree leaf, so a checkpoint
writes ~1,000 scattered pages and syncs a large file: measured on a 1M-record store,
a create took 80-100 us instead of 35 us, and single commits stalled the event loop for
34-140 ms (the empty store: 6 ms). With the automatic checkpoint off and this thread
running PASSIVE checkpoints (they never wait for, or block, the writer), a create costs
what it costs on an empty store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5  # seconds between looks at the WAL's size
DEFAULT_THRESHOLD = 4 << 20  # bytes of WAL that make a checkpoint worth it (~1,000 pages)


class Checkpointer:
    """A daemon thread with its own connection: every `interval`, if the WAL holds more
    than `threshold` bytes, `PRAGMA wal_checkpoint(PASSIVE)`. `close` stops it."""

    def __init__(
        self,
        path: Path,
        *,
        interval: float = DEFAULT_INTERVAL,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.interval = interval
        self.threshold = threshold
        self.checkpoints = 0  # completed (tests and curiosity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout = 0")  # never wait: the next round tries again
            while not self._stop.wait(self.interval):
                self.run_once(db)
        finally:
            db.close()

    def run_once(self, db: sqlite3.Connection) -> bool:
        """Checkpoint if the WAL is past the threshold; True when one ran."""
        try:
            if os.stat(self.wal).st_size <= self.threshold:
                return False
        except FileNotFoundError:
            return False
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:  # busy (another process checkpoints)
            log.debug("checkpoint of %s skipped: %s", self.path, exc)
            return False
        self.checkpoints += 1
        return True

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join()
