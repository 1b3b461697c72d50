"""Read leases and retired uploads in their own SQLite file beside the upload state.

Used when the bytes live in object storage but the state is embedded (`--store s3`
with the default SQLite state): a delete then waits for running reads. Its own file
(`<state>.reads.sqlite3`, schema numbered by `PRAGMA user_version`), one connection used
on the event loop like the upload store; `retire` records and counts live leases in one
`BEGIN IMMEDIATE` transaction, so it is atomic against a reader taking a lease.
"""

from __future__ import annotations

import os
from pathlib import Path

from .leases import retired_info, retired_record
from .model import UploadInfo
from .sqlite_side import immediate, open_side, side_path

SCHEMA_VERSION = 1
STALE = 3600.0
"""Lapsed leases (crashed readers) are forgotten after this many seconds."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS read_leases (
    upload_id TEXT NOT NULL,
    reader    TEXT NOT NULL,
    until     REAL NOT NULL,
    PRIMARY KEY (upload_id, reader)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired_uploads (
    upload_id TEXT PRIMARY KEY,
    record    TEXT NOT NULL,
    since     REAL NOT NULL
) WITHOUT ROWID;
"""


def leases_path(state_path: str | os.PathLike[str]) -> Path:
    """The lease file that goes with the upload state file at `state_path`."""
    return side_path(state_path, "reads")


class SqliteReadLeases:
    """ReadLeases in a WAL-mode SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._db = open_side(self.path, _SCHEMA, SCHEMA_VERSION, busy_timeout_ms=busy_timeout_ms)

    async def hold(self, upload_id: str, reader: str, until: float) -> None:
        self._db.execute(
            "INSERT INTO read_leases (upload_id, reader, until) VALUES (?, ?, ?)"
            " ON CONFLICT (upload_id, reader) DO UPDATE SET until = excluded.until",
            (upload_id, reader, until),
        )

    async def release(self, upload_id: str, reader: str) -> None:
        self._db.execute(
            "DELETE FROM read_leases WHERE upload_id = ? AND reader = ?", (upload_id, reader)
        )

    async def retire(self, info: UploadInfo, now: float) -> bool:
        with immediate(self._db) as db:
            db.execute(
                "INSERT OR REPLACE INTO retired_uploads (upload_id, record, since)"
                " VALUES (?, ?, ?)",
                (info.id, retired_record(info), now),
            )
            live = db.execute(
                "SELECT COUNT(*) FROM read_leases WHERE upload_id = ? AND until > ?",
                (info.id, now),
            ).fetchone()[0]
        return int(live) == 0

    async def reclaimable(self, now: float, limit: int) -> list[UploadInfo]:
        self._db.execute("DELETE FROM read_leases WHERE until < ?", (now - STALE,))
        rows = self._db.execute(
            "SELECT record FROM retired_uploads r WHERE NOT EXISTS (SELECT 1 FROM read_leases l"
            " WHERE l.upload_id = r.upload_id AND l.until > ?) ORDER BY since LIMIT ?",
            (now, limit),
        ).fetchall()
        return [retired_info(r[0]) for r in rows]

    async def reclaimed(self, upload_id: str) -> None:
        with immediate(self._db) as db:
            db.execute("DELETE FROM retired_uploads WHERE upload_id = ?", (upload_id,))
            db.execute("DELETE FROM read_leases WHERE upload_id = ?", (upload_id,))

    async def close(self) -> None:
        self._db.close()
