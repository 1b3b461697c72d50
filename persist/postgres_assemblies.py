"""Assemblies in PostgreSQL, shared by every instance that uses the same database.

Tables `assemblies` and `assembly_parts` in the uploads' schema, created if missing
(under an advisory lock, so instances starting together create them once), with their
own version row in `assemblies_schema`. A part is recorded or cleared in a transaction
that first locks its assembly's row (`FOR SHARE` / `FOR UPDATE`) and checks it is ACTIVE;
a change of state updates that row, so the two wait for each other and never interleave
(under READ COMMITTED a waiting statement re-reads the row it waited for).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from .assembly import UNSETTLED, Assembly, AssemblyState, StoredPart
from .postgres_store import quote_schema
from .protocols import UploadExists

SCHEMA_VERSION = 1
_MIGRATE_LOCK = 0x7475_736B_6173  # serialises creating these tables across instances
_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.assemblies_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.assemblies (
    id         text PRIMARY KEY,
    upload_id  text NOT NULL,
    length     bigint NOT NULL,
    part_size  bigint NOT NULL,
    metadata   jsonb NOT NULL,
    digest     text,
    state      text NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    expires_at double precision,
    storage    jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS assemblies_due ON {s}.assemblies (expires_at)
    WHERE state = 'active';
CREATE INDEX IF NOT EXISTS assemblies_unsettled ON {s}.assemblies (id)
    WHERE state IN ('completing', 'aborting', 'expiring');
CREATE INDEX IF NOT EXISTS assemblies_settled ON {s}.assemblies (updated_at)
    WHERE state IN ('completed', 'aborted', 'expired');
CREATE TABLE IF NOT EXISTS {s}.assembly_parts (
    assembly_id text NOT NULL,
    idx         integer NOT NULL,
    size        bigint NOT NULL,
    receipt     text NOT NULL,
    PRIMARY KEY (assembly_id, idx)
);
"""
_COLUMNS = (
    "id, upload_id, length, part_size, metadata, digest, state, created_at, updated_at,"
    " expires_at, storage"
)


def _row(a: Assembly) -> tuple[Any, ...]:
    return (
        a.id,
        a.upload_id,
        a.length,
        a.part_size,
        json.dumps([list(kv) for kv in a.metadata]),
        a.digest,
        AssemblyState(a.state).value,
        float(a.created_at),
        float(a.updated_at),
        None if a.expires_at is None else float(a.expires_at),
        json.dumps([list(kv) for kv in a.storage]),
    )


def _assembly(r: asyncpg.Record) -> Assembly:
    return Assembly(
        id=r["id"],
        upload_id=r["upload_id"],
        length=r["length"],
        part_size=r["part_size"],
        metadata=tuple((k, v) for k, v in json.loads(r["metadata"])),
        digest=r["digest"],
        state=AssemblyState(r["state"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        expires_at=r["expires_at"],
        storage=tuple((k, v) for k, v in json.loads(r["storage"])),
    )


async def migrate(pool: asyncpg.Pool, schema: str = "public") -> None:
    s = quote_schema(schema)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATE_LOCK)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        await conn.execute(_SCHEMA.format(s=s))
        found = await conn.fetchval(f"SELECT version FROM {s}.assemblies_schema")
        if found is None:
            await conn.execute(
                f"INSERT INTO {s}.assemblies_schema (version) VALUES ($1)", SCHEMA_VERSION
            )
        elif int(found) > SCHEMA_VERSION:
            raise RuntimeError(
                f"schema {schema} has assemblies version {found}, newer than this code"
                f" ({SCHEMA_VERSION})"
            )


class PostgresAssemblyStore:
    """AssemblyStore on PostgreSQL; build it with `await PostgresAssemblyStore.open(dsn)`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "public") -> None:
        self.pool = pool
        s = quote_schema(schema)
        self._t = f"{s}.assemblies"
        self._p = f"{s}.assembly_parts"
        self._select = f"SELECT {_COLUMNS} FROM {self._t}"

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "public", *, min_size: int = 1, max_size: int = 10
    ) -> PostgresAssemblyStore:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        try:
            await migrate(pool, schema)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema)

    async def create_assembly(self, assembly: Assembly) -> None:
        qs = ", ".join(f"${i}" for i in range(1, 12))
        try:
            await self.pool.execute(
                f"INSERT INTO {self._t} ({_COLUMNS}) VALUES ({qs})", *_row(assembly)
            )
        except asyncpg.UniqueViolationError:
            raise UploadExists(assembly.id) from None

    async def get_assembly(self, assembly_id: str) -> Assembly | None:
        r = await self.pool.fetchrow(f"{self._select} WHERE id = $1", assembly_id)
        return None if r is None else _assembly(r)

    async def stored_parts(self, assembly_id: str) -> list[StoredPart]:
        rows = await self.pool.fetch(
            f"SELECT idx, size, receipt FROM {self._p} WHERE assembly_id = $1 ORDER BY idx",
            assembly_id,
        )
        return [StoredPart(r["idx"], r["size"], r["receipt"]) for r in rows]

    async def clear_part(self, assembly_id: str, index: int) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(
                f"SELECT state FROM {self._t} WHERE id = $1 FOR SHARE", assembly_id
            )
            if state != AssemblyState.ACTIVE.value:
                return False
            await conn.execute(
                f"DELETE FROM {self._p} WHERE assembly_id = $1 AND idx = $2", assembly_id, index
            )
            return True

    async def put_part(
        self, assembly_id: str, part: StoredPart, now: float, expires_at: float | None
    ) -> int | None:
        async with self.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(
                f"SELECT state FROM {self._t} WHERE id = $1 FOR UPDATE", assembly_id
            )
            if state != AssemblyState.ACTIVE.value:
                return None
            await conn.execute(
                f"INSERT INTO {self._p} (assembly_id, idx, size, receipt) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (assembly_id, idx) DO UPDATE SET size = EXCLUDED.size,"
                " receipt = EXCLUDED.receipt",
                assembly_id,
                part.index,
                part.size,
                part.receipt,
            )
            await conn.execute(
                f"UPDATE {self._t} SET updated_at = $2, expires_at = $3 WHERE id = $1",
                assembly_id,
                float(now),
                None if expires_at is None else float(expires_at),
            )
            count = await conn.fetchval(
                f"SELECT count(*) FROM {self._p} WHERE assembly_id = $1", assembly_id
            )
            return int(count)

    async def clear_parts(self, assembly_id: str) -> None:
        await self.pool.execute(f"DELETE FROM {self._p} WHERE assembly_id = $1", assembly_id)

    async def swap_assembly(self, assembly: Assembly, expect: frozenset[AssemblyState]) -> bool:
        values = _row(assembly)
        status = await self.pool.execute(
            f"UPDATE {self._t} SET upload_id = $2, length = $3, part_size = $4, metadata = $5,"
            " digest = $6, state = $7, created_at = $8, updated_at = $9, expires_at = $10,"
            " storage = $11 WHERE id = $1 AND state = ANY($12::text[])",
            *values,
            [s.value for s in expect],
        )
        return not status.endswith(" 0")

    async def due_assemblies(self, now: float, limit: int) -> list[Assembly]:
        rows = await self.pool.fetch(
            f"{self._select} WHERE state = 'active' AND expires_at IS NOT NULL"
            " AND expires_at < $1 ORDER BY expires_at, id LIMIT $2",
            float(now),
            limit,
        )
        return [_assembly(r) for r in rows]

    async def unsettled_assemblies(self, limit: int) -> list[Assembly]:
        rows = await self.pool.fetch(
            f"{self._select} WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2",
            [s.value for s in UNSETTLED],
            limit,
        )
        return [_assembly(r) for r in rows]

    async def purge_assemblies(self, older_than: float) -> int:
        settled = "state IN ('completed', 'aborted', 'expired') AND updated_at < $1"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"DELETE FROM {self._p} WHERE assembly_id IN"
                f" (SELECT id FROM {self._t} WHERE {settled})",
                float(older_than),
            )
            status = await conn.execute(f"DELETE FROM {self._t} WHERE {settled}", float(older_than))
        return int(status.rsplit(" ", 1)[1])

    async def close(self) -> None:
        await self.pool.close()
