"""The event outbox in PostgreSQL, in the state's schema (`<schema>.tuskit_outbox`).

`claim` locks with `FOR UPDATE SKIP LOCKED`, so instances relaying the same outbox never
wait on each other, and takes only the oldest pending entry of each (sink, upload), so
one upload's events leave in order. A committed entry is as durable as the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from .postgres_store import quote_schema
from .protocols import OutboxEntry

_LOCK = 0x7475736F  # advisory lock id for creating the table once across instances

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL,
    sink        text NOT NULL,
    upload_id   text NOT NULL,
    payload     text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    due_at      double precision NOT NULL,
    lease_until double precision NOT NULL DEFAULT 0,
    UNIQUE (id, sink)
);
CREATE INDEX IF NOT EXISTS tuskit_outbox_order ON {t} (sink, upload_id, seq);
"""

_CLAIM = """
WITH c AS (
  SELECT seq FROM {t} AS o
  WHERE sink = ANY($1::text[]) AND due_at <= $2 AND lease_until <= $2
    AND NOT EXISTS (SELECT 1 FROM {t} AS p
                    WHERE p.sink = o.sink AND p.upload_id = o.upload_id AND p.seq < o.seq)
  ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED
)
UPDATE {t} AS t SET lease_until = $4 FROM c WHERE t.seq = c.seq
RETURNING t.seq, t.id, t.sink, t.upload_id, t.payload, t.attempts
"""


class PostgresOutbox:
    """Outbox on PostgreSQL; build it with `await PostgresOutbox.open(dsn, schema)`."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "public") -> None:
        self.pool = pool
        self._t = f"{quote_schema(schema)}.tuskit_outbox"

    @classmethod
    async def open(cls, dsn: str, schema: str = "public", *, max_size: int = 4) -> PostgresOutbox:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
        try:
            t = f"{quote_schema(schema)}.tuskit_outbox"
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_schema(schema)}")
                await conn.execute(_SCHEMA.format(t=t))
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema)

    async def add(self, entries: Sequence[OutboxEntry], now: float) -> None:
        await self.pool.executemany(
            f"INSERT INTO {self._t} (id, sink, upload_id, payload, attempts, due_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id, sink) DO NOTHING",
            [(e.id, e.sink, e.upload_id, e.payload, e.attempts, now) for e in entries],
        )

    async def claim(
        self, sinks: Sequence[str], now: float, limit: int, lease: float
    ) -> list[OutboxEntry]:
        if not sinks:
            return []
        rows = await self.pool.fetch(_CLAIM.format(t=self._t), list(sinks), now, limit, now + lease)
        rows = sorted(rows, key=lambda r: int(r["seq"]))
        return [
            OutboxEntry(
                id=r["id"],
                sink=r["sink"],
                upload_id=r["upload_id"],
                payload=r["payload"],
                attempts=int(r["attempts"]),
                ref=str(r["seq"]),
            )
            for r in rows
        ]

    async def done(self, entries: Sequence[OutboxEntry]) -> None:
        if entries:
            refs = [int(e.ref) for e in entries]
            await self.pool.execute(f"DELETE FROM {self._t} WHERE seq = ANY($1::bigint[])", refs)

    async def retry(self, entry: OutboxEntry, due: float) -> None:
        await self.pool.execute(
            f"UPDATE {self._t} SET attempts = attempts + 1, due_at = $2, lease_until = 0"
            " WHERE seq = $1",
            int(entry.ref),
            due,
        )

    async def depth(self) -> int:
        return int(await self.pool.fetchval(f"SELECT count(*) FROM {self._t}"))

    async def close(self) -> None:
        await self.pool.close()
