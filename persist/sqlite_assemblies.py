"""Assemblies in SQLite: the embedded default, in a file of their own next to the
uploads' (`uploads.sqlite3` -> `uploads.sessions.sqlite3`), so their writes never
invalidate the uploads' read cache and their schema evolves on its own
(`assemblies_schema` holds its version; tables are created if missing).

Conditional changes run in `BEGIN IMMEDIATE` transactions: the write lock is taken
before the state is read, so a part recorded or cleared and a change of state from
ACTIVE never interleave, across processes sharing the file too. Like the uploads' store
it runs statements on the event loop (WAL, `synchronous=NORMAL`: microseconds each;
a committed statement survives kill -9).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .assembly import UNSETTLED, Assembly, AssemblyState, StoredPart
from .protocols import UploadExists

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS assemblies_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assemblies (
    id         TEXT PRIMARY KEY,
    upload_id  TEXT NOT NULL,
    length     INTEGER NOT NULL,
    part_size  INTEGER NOT NULL,
    metadata   TEXT NOT NULL,
    digest     TEXT,
    state      TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL,
    storage    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assemblies_due ON assemblies (expires_at) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS assemblies_unsettled ON assemblies (state)
    WHERE state IN ('completing', 'aborting', 'expiring');
CREATE INDEX IF NOT EXISTS assemblies_settled ON assemblies (updated_at)
    WHERE state IN ('completed', 'aborted', 'expired');
CREATE TABLE IF NOT EXISTS assembly_parts (
    assembly_id TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    receipt     TEXT NOT NULL,
    PRIMARY KEY (assembly_id, idx)
) WITHOUT ROWID;
"""
_COLUMNS = (
    "id, upload_id, length, part_size, metadata, digest, state, created_at, updated_at,"
    " expires_at, storage"
)
_QS = ", ".join("?" * 11)


def sessions_path(uploads_path: str | os.PathLike[str]) -> Path:
    """Where assemblies go beside an uploads SQLite file: `x.sqlite3` -> `x.sessions.sqlite3`."""
    p = Path(uploads_path)
    return p.with_name(f"{p.stem}.sessions{p.suffix or '.sqlite3'}")


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return () if text == "[]" else tuple((str(k), str(v)) for k, v in json.loads(text))


def _row(a: Assembly) -> tuple[Any, ...]:
    return (
        a.id,
        a.upload_id,
        a.length,
        a.part_size,
        json.dumps([list(kv) for kv in a.metadata]),
        a.digest,
        AssemblyState(a.state).value,
        a.created_at,
        a.updated_at,
        a.expires_at,
        json.dumps([list(kv) for kv in a.storage]),
    )


def _assembly(r: tuple[Any, ...]) -> Assembly:
    (aid, upload_id, length, part_size, metadata, digest, state, created, updated, expires,
     storage) = r  # fmt: skip
    return Assembly(
        id=aid,
        upload_id=upload_id,
        length=length,
        part_size=part_size,
        metadata=_pairs(metadata),
        digest=digest,
        state=AssemblyState(state),
        created_at=created,
        updated_at=updated,
        expires_at=expires,
        storage=_pairs(storage),
    )


class SqliteAssemblyStore:
    """AssemblyStore in a WAL-mode SQLite file of its own."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            found = self._db.execute("SELECT version FROM assemblies_schema").fetchone()
            if found is None:
                self._db.execute("INSERT INTO assemblies_schema VALUES (?)", (SCHEMA_VERSION,))
            elif found[0] > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has assemblies schema {found[0]}, newer than this code"
                    f" ({SCHEMA_VERSION})"
                )

    @contextmanager
    def _write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE (the write lock first) ... COMMIT, or ROLLBACK on error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _state(self, assembly_id: str) -> str | None:
        row = self._db.execute("SELECT state FROM assemblies WHERE id = ?", (assembly_id,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    async def create_assembly(self, assembly: Assembly) -> None:
        try:
            self._db.execute(f"INSERT INTO assemblies ({_COLUMNS}) VALUES ({_QS})", _row(assembly))
        except sqlite3.IntegrityError:
            raise UploadExists(assembly.id) from None

    async def get_assembly(self, assembly_id: str) -> Assembly | None:
        r = self._db.execute(
            f"SELECT {_COLUMNS} FROM assemblies WHERE id = ?", (assembly_id,)
        ).fetchone()
        return None if r is None else _assembly(r)

    async def stored_parts(self, assembly_id: str) -> list[StoredPart]:
        rows = self._db.execute(
            "SELECT idx, size, receipt FROM assembly_parts WHERE assembly_id = ? ORDER BY idx",
            (assembly_id,),
        ).fetchall()
        return [StoredPart(i, s, r) for i, s, r in rows]

    async def clear_part(self, assembly_id: str, index: int) -> bool:
        with self._write():
            if self._state(assembly_id) != AssemblyState.ACTIVE.value:
                return False
            self._db.execute(
                "DELETE FROM assembly_parts WHERE assembly_id = ? AND idx = ?", (assembly_id, index)
            )
            return True

    async def put_part(
        self, assembly_id: str, part: StoredPart, now: float, expires_at: float | None
    ) -> int | None:
        with self._write():
            if self._state(assembly_id) != AssemblyState.ACTIVE.value:
                return None
            self._db.execute(
                "INSERT OR REPLACE INTO assembly_parts (assembly_id, idx, size, receipt)"
                " VALUES (?, ?, ?, ?)",
                (assembly_id, part.index, part.size, part.receipt),
            )
            self._db.execute(
                "UPDATE assemblies SET updated_at = ?, expires_at = ? WHERE id = ?",
                (now, expires_at, assembly_id),
            )
            count = self._db.execute(
                "SELECT count(*) FROM assembly_parts WHERE assembly_id = ?", (assembly_id,)
            ).fetchone()[0]
            return int(count)

    async def clear_parts(self, assembly_id: str) -> None:
        self._db.execute("DELETE FROM assembly_parts WHERE assembly_id = ?", (assembly_id,))

    async def swap_assembly(self, assembly: Assembly, expect: frozenset[AssemblyState]) -> bool:
        with self._write():
            if self._state(assembly.id) not in {s.value for s in expect}:
                return False
            values = _row(assembly)
            self._db.execute(
                "UPDATE assemblies SET upload_id = ?, length = ?, part_size = ?, metadata = ?,"
                " digest = ?, state = ?, created_at = ?, updated_at = ?, expires_at = ?,"
                " storage = ? WHERE id = ?",
                (*values[1:], values[0]),
            )
            return True

    async def due_assemblies(self, now: float, limit: int) -> list[Assembly]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM assemblies WHERE state = 'active' AND expires_at IS NOT NULL"
            " AND expires_at < ? ORDER BY expires_at, id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [_assembly(r) for r in rows]

    async def unsettled_assemblies(self, limit: int) -> list[Assembly]:
        states = tuple(s.value for s in UNSETTLED)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM assemblies WHERE state IN (?, ?, ?) ORDER BY id LIMIT ?",
            (*states, limit),
        ).fetchall()
        return [_assembly(r) for r in rows]

    async def purge_assemblies(self, older_than: float) -> int:
        settled = "state IN ('completed', 'aborted', 'expired') AND updated_at < ?"
        with self._write():
            self._db.execute(
                f"DELETE FROM assembly_parts WHERE assembly_id IN"
                f" (SELECT id FROM assemblies WHERE {settled})",
                (older_than,),
            )
            cur = self._db.execute(f"DELETE FROM assemblies WHERE {settled}", (older_than,))
            return int(cur.rowcount)

    async def close(self) -> None:
        self._db.close()
