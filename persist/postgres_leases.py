"""Read leases and retired uploads in PostgreSQL, shared by every instance on the database.

Tables `read_leases`, `retired_uploads` and `reads_schema` (this component's version
row) in the deployment's schema, created on open under an advisory lock. `retire` is one
statement: it records the retirement and counts the leases live in its snapshot. A
reader commits its lease before it re-reads the upload's record, and a delete marks the
record before it retires, so either the delete sees the lease or the reader sees the
tombstone: no read is left without its bytes.
"""

from __future__ import annotations

import asyncpg

from .leases import retired_info, retired_record
from .model import UploadInfo
from .postgres_side import open_pool
from .postgres_store import quote_schema

SCHEMA_VERSION = 1
STALE = 3600.0
_MIGRATE_LOCK = 0x7265_6164_7321  # "reads!"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.read_leases (
    upload_id text NOT NULL,
    reader    text NOT NULL,
    until     double precision NOT NULL,
    PRIMARY KEY (upload_id, reader)
);
CREATE TABLE IF NOT EXISTS {s}.retired_uploads (
    upload_id text PRIMARY KEY,
    record    text NOT NULL,
    since     double precision NOT NULL
);
"""


class PostgresReadLeases:
    """ReadLeases on PostgreSQL; build it with `await PostgresReadLeases.open(dsn, schema)`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "public") -> None:
        self.pool = pool
        s = quote_schema(schema)
        self._leases = f"{s}.read_leases"
        self._retired = f"{s}.retired_uploads"

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "public", *, max_size: int = 4
    ) -> PostgresReadLeases:
        pool = await open_pool(
            dsn, schema, _SCHEMA, "reads_schema", SCHEMA_VERSION, _MIGRATE_LOCK, max_size
        )
        return cls(pool, schema)

    async def hold(self, upload_id: str, reader: str, until: float) -> None:
        await self.pool.execute(
            f"INSERT INTO {self._leases} (upload_id, reader, until) VALUES ($1, $2, $3)"
            " ON CONFLICT (upload_id, reader) DO UPDATE SET until = EXCLUDED.until",
            upload_id,
            reader,
            float(until),
        )

    async def release(self, upload_id: str, reader: str) -> None:
        await self.pool.execute(
            f"DELETE FROM {self._leases} WHERE upload_id = $1 AND reader = $2", upload_id, reader
        )

    async def retire(self, info: UploadInfo, now: float) -> bool:
        live = await self.pool.fetchval(
            f"WITH r AS (INSERT INTO {self._retired} (upload_id, record, since)"
            " VALUES ($1, $2, $3) ON CONFLICT (upload_id) DO UPDATE SET record = EXCLUDED.record"
            f" RETURNING upload_id) SELECT (SELECT count(*) FROM {self._leases}"
            " WHERE upload_id = $1 AND until > $3) FROM r",
            info.id,
            retired_record(info),
            float(now),
        )
        return int(live or 0) == 0

    async def reclaimable(self, now: float, limit: int) -> list[UploadInfo]:
        await self.pool.execute(f"DELETE FROM {self._leases} WHERE until < $1", now - STALE)
        rows = await self.pool.fetch(
            f"SELECT record FROM {self._retired} r WHERE NOT EXISTS (SELECT 1 FROM"
            f" {self._leases} l WHERE l.upload_id = r.upload_id AND l.until > $1)"
            " ORDER BY since LIMIT $2",
            float(now),
            limit,
        )
        return [retired_info(r["record"]) for r in rows]

    async def reclaimed(self, upload_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DELETE FROM {self._retired} WHERE upload_id = $1", upload_id)
            await conn.execute(f"DELETE FROM {self._leases} WHERE upload_id = $1", upload_id)

    async def close(self) -> None:
        await self.pool.close()
