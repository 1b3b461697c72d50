"""The event outbox in SQLite: a file of its own next to the upload state.

Why a separate file: `SqliteMetadataStore` keeps a per-process cache that stays valid
while `PRAGMA data_version` says no other connection wrote the file; outbox writes
through another connection would empty that cache on every event. Same durability as the
state (WAL, `synchronous=NORMAL`: a committed entry survives kill -9 of the process).
Statements run on the event loop like the state store's: each is a short indexed query.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from .protocols import OutboxEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL,
    sink        TEXT NOT NULL,
    upload_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    UNIQUE (id, sink)
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (sink, upload_id, seq);
"""

# The oldest pending entry of each (sink, upload) that is due and not leased.
_CLAIM = """
SELECT seq, id, sink, upload_id, payload, attempts FROM outbox AS o
WHERE sink IN ({sinks}) AND due_at <= ? AND lease_until <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox AS p
                  WHERE p.sink = o.sink AND p.upload_id = o.upload_id AND p.seq < o.seq)
ORDER BY seq LIMIT ?
"""


class SqliteOutbox:
    """Outbox in a WAL-mode SQLite file shared by every worker on this machine."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    async def add(self, entries: Sequence[OutboxEntry], now: float) -> None:
        rows = [(e.id, e.sink, e.upload_id, e.payload, e.attempts, now) for e in entries]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (id, sink, upload_id, payload, attempts, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def claim(
        self, sinks: Sequence[str], now: float, limit: int, lease: float
    ) -> list[OutboxEntry]:
        if not sinks:
            return []
        query = _CLAIM.format(sinks=", ".join("?" * len(sinks)))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            rows = self._db.execute(query, (*sinks, now, now, limit)).fetchall()
            self._db.executemany(
                "UPDATE outbox SET lease_until = ? WHERE seq = ?",
                [(now + lease, row[0]) for row in rows],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return [
            OutboxEntry(
                id=r[1], sink=r[2], upload_id=r[3], payload=r[4], attempts=r[5], ref=str(r[0])
            )
            for r in rows
        ]

    async def done(self, entries: Sequence[OutboxEntry]) -> None:
        self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(int(e.ref),) for e in entries])

    async def retry(self, entry: OutboxEntry, due: float) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, due_at = ?, lease_until = 0 WHERE seq = ?",
            (due, int(entry.ref)),
        )

    async def depth(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    async def close(self) -> None:
        self._db.close()
