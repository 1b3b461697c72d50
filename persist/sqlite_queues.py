"""FIFO queues of finished uploads in their own SQLite file beside the upload state.

Why it looks like this:
- Its own file (`<state>.queues.sqlite3`), so the upload table's migrations and its
  per-process record cache never see queue writes; `PRAGMA user_version` numbers this
  file's schema. Several processes on one data dir share it (WAL + busy_timeout).
- A sequence per queue in `queue_counters`, bumped in the same `BEGIN IMMEDIATE`
  transaction that inserts the entry: SQLite runs one writer at a time, so sequence
  order is commit order and a reader paging by sequence never skips a late commit.
- Live entries are found through a partial index (`removed IS NULL`), so the positions
  kept for removed entries never slow a `first` down.
- No notifications between processes: a waiting request checks its queue's counter
  every `poll` seconds (a primary-key read, microseconds) and is woken at once by
  appends made in its own process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .protocols import QueueEntry
from .sqlite_side import immediate, open_side, side_path
from .wakeups import Wakeups

SCHEMA_VERSION = 1
POLL = 0.1
"""Seconds between checks of a queue's counter while a request waits on it."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_counters (
    queue TEXT PRIMARY KEY,
    last  INTEGER NOT NULL,
    live  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_entries (
    upload_id    TEXT PRIMARY KEY,
    queue        TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created      REAL NOT NULL,
    removed      REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_entries_live ON queue_entries (queue, seq)
    WHERE removed IS NULL;
CREATE INDEX IF NOT EXISTS queue_entries_removed ON queue_entries (removed)
    WHERE removed IS NOT NULL;
"""
_COLUMNS = "queue, seq, upload_id, size, content_type, created, removed"


def queues_path(state_path: str | os.PathLike[str]) -> Path:
    """The queue file that goes with the upload state file at `state_path`."""
    return side_path(state_path, "queues")


def _entry(row: tuple[Any, ...]) -> QueueEntry:
    return QueueEntry(*row)


class SqliteQueueIndex:
    """QueueIndex in a WAL-mode SQLite file, used directly on the event loop."""

    def __init__(
        self, path: str | os.PathLike[str], *, poll: float = POLL, busy_timeout_ms: int = 5000
    ) -> None:
        self.path = Path(path)
        self.poll = poll
        self._db = open_side(self.path, _SCHEMA, SCHEMA_VERSION, busy_timeout_ms=busy_timeout_ms)
        self._wakeups = Wakeups()

    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        with immediate(self._db) as db:
            seq = db.execute(
                "INSERT INTO queue_counters (queue, last, live) VALUES (?, 1, 1)"
                " ON CONFLICT (queue) DO UPDATE SET last = last + 1, live = live + 1"
                " RETURNING last",
                (queue,),
            ).fetchone()[0]
            db.execute(
                f"INSERT INTO queue_entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (queue, seq, upload_id, size, content_type, created),
            )
        self._wakeups.notify(queue)
        return QueueEntry(queue, seq, upload_id, size, content_type, created)

    async def remove(self, upload_id: str, now: float) -> QueueEntry | None:
        with immediate(self._db) as db:
            row = db.execute(
                "UPDATE queue_entries SET removed = ? WHERE upload_id = ? AND removed IS NULL"
                f" RETURNING {_COLUMNS}",
                (now, upload_id),
            ).fetchone()
            if row is not None:
                db.execute("UPDATE queue_counters SET live = live - 1 WHERE queue = ?", (row[0],))
        return None if row is None else _live(row)

    async def locate(self, upload_id: str) -> QueueEntry | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM queue_entries WHERE upload_id = ?", (upload_id,)
        ).fetchone()
        return None if row is None else _entry(row)

    async def after(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM queue_entries WHERE queue = ? AND seq > ?"
            " AND removed IS NULL ORDER BY seq LIMIT ?",
            (queue, seq, limit),
        ).fetchall()
        return [_entry(r) for r in rows]

    async def before(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM queue_entries WHERE queue = ? AND seq < ?"
            " AND removed IS NULL ORDER BY seq DESC LIMIT ?",
            (queue, seq, limit),
        ).fetchall()
        return [_entry(r) for r in rows]

    async def counts(self) -> list[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT queue, live FROM queue_counters WHERE live > 0 ORDER BY queue"
        ).fetchall()
        return [(str(q), int(n)) for q, n in rows]

    async def last_seq(self, queue: str) -> int:
        row = self._db.execute(
            "SELECT last FROM queue_counters WHERE queue = ?", (queue,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    async def wait(self, queue: str, seen: int, timeout: float) -> bool:
        async def ready() -> bool:
            return await self.last_seq(queue) > seen

        return await self._wakeups.wait_for(queue, ready, timeout, self.poll)

    async def forget_removed(self, older_than: float) -> int:
        cur = self._db.execute(
            "DELETE FROM queue_entries WHERE removed IS NOT NULL AND removed < ?", (older_than,)
        )
        return int(cur.rowcount)

    async def close(self) -> None:
        self._wakeups.notify_all()
        self._db.close()


def _live(row: tuple[Any, ...]) -> QueueEntry:
    """The entry as it was before its removal (`removed` unset)."""
    return QueueEntry(*row[:6])
