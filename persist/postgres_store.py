"""Upload state in PostgreSQL, shared by every server instance that uses the same database.

- asyncpg pool: the fastest PostgreSQL driver for asyncio, with prepared statements
  cached per connection; every method is one statement (one round trip).
- Columns for what is queried: `state`, `expires_at` (partial index over active,
  unfinished-relevant rows), `updated_at` of tombstones (partial index), and `partials`
  as `text[]` with a GIN index, so `finals_waiting_on` is `partials @> ARRAY[$1]`.
  Metadata and storage pairs are `jsonb` arrays (order kept); floats are
  `double precision`, so times round-trip exactly.
- The schema lives in a configurable PostgreSQL schema (default `public`) and is created
  or migrated on `open`, under a transaction-scoped advisory lock so instances starting
  together migrate once. `tus_schema_version` records the version; a newer one is
  refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg

from .model import UploadInfo, UploadState
from .protocols import UploadExists, UploadNotFound

if TYPE_CHECKING:
    from .postgres_lock import PostgresLocker

SCHEMA_VERSION = 1
_PAGE = 500
_MIGRATE_LOCK = 0x7475_736B_6974  # "tuskit": serialises migrations across instances
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Index i migrates from version i to i + 1; `{s}` is the quoted schema name.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE {s}.uploads (
        id            text PRIMARY KEY,
        state         text NOT NULL,
        length        bigint,
        upload_offset bigint NOT NULL,
        metadata      jsonb NOT NULL,
        is_partial    boolean NOT NULL,
        partials      text[],
        created_at    double precision NOT NULL,
        updated_at    double precision NOT NULL,
        expires_at    double precision,
        storage       jsonb NOT NULL
    );
    CREATE INDEX uploads_expiry ON {s}.uploads (expires_at)
        WHERE state = 'active' AND expires_at IS NOT NULL;
    CREATE INDEX uploads_tombstones ON {s}.uploads (updated_at) WHERE state <> 'active';
    CREATE INDEX uploads_partials ON {s}.uploads USING gin (partials)
        WHERE partials IS NOT NULL;
    """,
)

_COLUMNS = (
    "id, state, length, upload_offset, metadata, is_partial, partials,"
    " created_at, updated_at, expires_at, storage"
)
_UNFINISHED = "(length IS NULL OR upload_offset < length)"


def _row(info: UploadInfo) -> tuple[Any, ...]:
    return (
        info.id,
        UploadState(info.state).value,
        info.length,
        info.offset,
        json.dumps([list(kv) for kv in info.metadata]),
        info.is_partial,
        None if info.partials is None else list(info.partials),
        float(info.created_at),
        float(info.updated_at),
        None if info.expires_at is None else float(info.expires_at),
        json.dumps([list(kv) for kv in info.storage]),
    )


def _info(r: asyncpg.Record) -> UploadInfo:
    return UploadInfo(
        id=r["id"],
        length=r["length"],
        offset=r["upload_offset"],
        metadata=tuple((k, v) for k, v in json.loads(r["metadata"])),
        is_partial=r["is_partial"],
        partials=None if r["partials"] is None else tuple(r["partials"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        expires_at=r["expires_at"],
        state=UploadState(r["state"]),
        storage=tuple((k, v) for k, v in json.loads(r["storage"])),
    )


def quote_schema(schema: str) -> str:
    """`schema` double-quoted, after checking it is a plain lower-case identifier."""
    if not _IDENT.fullmatch(schema):
        raise ValueError(f"schema name must match {_IDENT.pattern}, not {schema!r}")
    return f'"{schema}"'


class PostgresMetadataStore:
    """MetadataStore on PostgreSQL; build it with `await PostgresMetadataStore.open(dsn)`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "public", *, owns_pool: bool = True):
        self.pool = pool
        self.schema = schema
        self._owns_pool = owns_pool
        t = f"{quote_schema(schema)}.uploads"
        qs = ", ".join(f"${i}" for i in range(1, 12))
        self._insert = f"INSERT INTO {t} ({_COLUMNS}) VALUES ({qs})"
        self._select = f"SELECT {_COLUMNS} FROM {t}"
        self._update = (
            f"UPDATE {t} SET state = $2, length = $3, upload_offset = $4, metadata = $5,"
            " is_partial = $6, partials = $7, created_at = $8, updated_at = $9,"
            " expires_at = $10, storage = $11 WHERE id = $1"
        )
        self._table = t

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "public", *, min_size: int = 1, max_size: int = 10
    ) -> PostgresMetadataStore:
        """Connect a pool, create or migrate the schema, return the store."""
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        try:
            await migrate(pool, schema)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema)

    async def schema_version(self) -> int:
        table = f"{quote_schema(self.schema)}.tus_schema_version"
        return int(await self.pool.fetchval(f"SELECT version FROM {table}"))

    async def create(self, info: UploadInfo) -> None:
        try:
            await self.pool.execute(self._insert, *_row(info))
        except asyncpg.UniqueViolationError:
            raise UploadExists(info.id) from None

    async def get(self, upload_id: str) -> UploadInfo | None:
        r = await self.pool.fetchrow(f"{self._select} WHERE id = $1", upload_id)
        return None if r is None else _info(r)

    async def save(self, info: UploadInfo) -> None:
        status = await self.pool.execute(self._update, *_row(info))
        if status.endswith(" 0"):
            raise UploadNotFound(info.id)

    async def mark(self, upload_id: str, state: UploadState, now: float) -> None:
        status = await self.pool.execute(
            f"UPDATE {self._table} SET state = $2, updated_at = $3 WHERE id = $1",
            upload_id,
            UploadState(state).value,
            float(now),
        )
        if status.endswith(" 0"):
            raise UploadNotFound(upload_id)

    async def expired(self, now: float, limit: int) -> list[UploadInfo]:
        rows = await self.pool.fetch(
            f"{self._select} WHERE state = 'active' AND expires_at IS NOT NULL"
            f" AND expires_at < $1 AND {_UNFINISHED} ORDER BY expires_at, id LIMIT $2",
            float(now),
            limit,
        )
        return [_info(r) for r in rows]

    async def finals_waiting_on(self, partial_id: str) -> list[UploadInfo]:
        rows = await self.pool.fetch(
            f"{self._select} WHERE partials IS NOT NULL AND partials @> ARRAY[$1::text]"
            f" AND state = 'active' AND {_UNFINISHED} ORDER BY id",
            partial_id,
        )
        return [_info(r) for r in rows]

    async def all_active(self) -> AsyncIterator[UploadInfo]:
        """Keyset pages of 500 by id, so no cursor or connection is held across yields."""
        after = ""
        while True:
            rows = await self.pool.fetch(
                f"{self._select} WHERE state = 'active' AND id > $1 ORDER BY id LIMIT $2",
                after,
                _PAGE,
            )
            for r in rows:
                yield _info(r)
            if len(rows) < _PAGE:
                return
            after = rows[-1]["id"]

    async def purge_tombstones(self, older_than: float) -> int:
        status = await self.pool.execute(
            f"DELETE FROM {self._table} WHERE state <> 'active' AND updated_at < $1",
            float(older_than),
        )
        return int(status.rsplit(" ", 1)[1])

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def close(self) -> None:
        if self._owns_pool:
            await self.pool.close()


async def migrate(pool: asyncpg.Pool, schema: str = "public") -> int:
    """Create or upgrade the tables in `schema`; returns the version found before."""
    s = quote_schema(schema)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATE_LOCK)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.tus_schema_version (version integer NOT NULL)"
        )
        found = await conn.fetchval(f"SELECT version FROM {s}.tus_schema_version")
        version = 0 if found is None else int(found)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"schema {schema} is at version {version}, newer than this code ({SCHEMA_VERSION})"
            )
        for step in range(version, SCHEMA_VERSION):
            await conn.execute(_MIGRATIONS[step].format(s=s))
        if found is None:
            await conn.execute(
                f"INSERT INTO {s}.tus_schema_version (version) VALUES ($1)", SCHEMA_VERSION
            )
        else:
            await conn.execute(f"UPDATE {s}.tus_schema_version SET version = $1", SCHEMA_VERSION)
        return version


async def open_postgres(
    dsn: str, schema: str = "public", *, max_locks: int = 20
) -> tuple[PostgresMetadataStore, PostgresLocker]:
    """Metadata store (its own pool, schema migrated) and a locker with a separate pool
    of `max_locks` connections (each held lock keeps one; one more LISTENs)."""
    from .postgres_lock import PostgresLocker

    store = await PostgresMetadataStore.open(dsn, schema)
    try:
        locker = await PostgresLocker.open(dsn, max_size=max_locks + 1, namespace=schema)
    except BaseException:
        await store.close()
        raise
    return store, locker
