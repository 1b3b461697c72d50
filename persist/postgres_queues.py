"""FIFO queues of finished uploads in PostgreSQL, shared by every instance on the database.

- Tables `queue_counters` and `queue_entries` (and `queues_schema`, this component's
  version row) in the deployment's schema, created on first use under an advisory lock.
- An append is one statement: the queue's counter row is bumped with an upsert, which
  holds the row's lock until the statement commits, so a concurrent append to the same
  queue waits and takes the next number: sequence order is commit order, and a reader
  paging by sequence never skips an entry that commits late.
- The same statement calls `pg_notify` (delivered on commit) with the queue's name; each
  process LISTENs on one dedicated connection and wakes its waiting requests, with a
  poll of the counter every `poll` seconds as the safety net (a dropped connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from .postgres_side import open_pool
from .postgres_store import quote_schema
from .protocols import QueueEntry
from .wakeups import Wakeups

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
POLL = 1.0
_MIGRATE_LOCK = 0x7175_6575_6573  # "queues"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.queue_counters (
    queue text PRIMARY KEY,
    last  bigint NOT NULL,
    live  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.queue_entries (
    upload_id    text PRIMARY KEY,
    queue        text NOT NULL,
    seq          bigint NOT NULL,
    size         bigint NOT NULL,
    content_type text NOT NULL,
    created      double precision NOT NULL,
    removed      double precision
);
CREATE INDEX IF NOT EXISTS queue_entries_live ON {s}.queue_entries (queue, seq)
    WHERE removed IS NULL;
CREATE INDEX IF NOT EXISTS queue_entries_removed ON {s}.queue_entries (removed)
    WHERE removed IS NOT NULL;
"""
_COLUMNS = "queue, seq, upload_id, size, content_type, created, removed"


def _entry(r: asyncpg.Record) -> QueueEntry:
    return QueueEntry(
        r["queue"], r["seq"], r["upload_id"], r["size"], r["content_type"], r["created"],
        r["removed"],
    )  # fmt: skip


def channel_name(schema: str) -> str:
    """The NOTIFY channel of a schema's queues (an identifier of at most 63 bytes)."""
    return f"queues_{schema}"[:63]


class PostgresQueueIndex:
    """QueueIndex on PostgreSQL; build it with `await PostgresQueueIndex.open(dsn, schema)`."""

    def __init__(
        self, pool: asyncpg.Pool, dsn: str, schema: str = "public", *, poll: float = POLL
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.schema = schema
        self.poll = poll
        self.channel = channel_name(schema)
        s = quote_schema(schema)
        self._counters = f"{s}.queue_counters"
        self._entries = f"{s}.queue_entries"
        self._append = (
            f"WITH c AS (INSERT INTO {self._counters} AS t (queue, last, live)"
            " VALUES ($1, 1, 1) ON CONFLICT (queue) DO UPDATE"
            " SET last = t.last + 1, live = t.live + 1 RETURNING last),"
            f" e AS (INSERT INTO {self._entries} ({_COLUMNS})"
            " SELECT $1, c.last, $2, $3, $4, $5, NULL FROM c RETURNING seq)"
            " SELECT e.seq, pg_notify($6, $1) FROM e"
        )
        self._remove = (
            f"WITH r AS (UPDATE {self._entries} SET removed = $2"
            f" WHERE upload_id = $1 AND removed IS NULL RETURNING {_COLUMNS}),"
            f" c AS (UPDATE {self._counters} AS t SET live = t.live - 1 FROM r"
            " WHERE t.queue = r.queue RETURNING t.queue)"
            f" SELECT {_COLUMNS} FROM r"
        )
        self._wakeups = Wakeups()
        self._listener: asyncpg.Connection | None = None
        self._listening = asyncio.Lock()

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "public", *, max_size: int = 4
    ) -> PostgresQueueIndex:
        pool = await open_pool(
            dsn, schema, _SCHEMA, "queues_schema", SCHEMA_VERSION, _MIGRATE_LOCK, max_size
        )
        return cls(pool, dsn, schema)

    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        row = await self.pool.fetchrow(
            self._append, queue, upload_id, size, content_type, float(created), self.channel
        )
        assert row is not None
        self._wakeups.notify(queue)
        return QueueEntry(queue, int(row[0]), upload_id, size, content_type, created)

    async def remove(self, upload_id: str, now: float) -> QueueEntry | None:
        row = await self.pool.fetchrow(self._remove, upload_id, float(now))
        if row is None:
            return None
        entry = _entry(row)
        return QueueEntry(
            entry.queue, entry.seq, upload_id, entry.size, entry.content_type, entry.created
        )

    async def locate(self, upload_id: str) -> QueueEntry | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM {self._entries} WHERE upload_id = $1", upload_id
        )
        return None if row is None else _entry(row)

    async def after(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {self._entries} WHERE queue = $1 AND seq > $2"
            " AND removed IS NULL ORDER BY seq LIMIT $3",
            queue,
            seq,
            limit,
        )
        return [_entry(r) for r in rows]

    async def before(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {self._entries} WHERE queue = $1 AND seq < $2"
            " AND removed IS NULL ORDER BY seq DESC LIMIT $3",
            queue,
            seq,
            limit,
        )
        return [_entry(r) for r in rows]

    async def counts(self) -> list[tuple[str, int]]:
        rows = await self.pool.fetch(
            f"SELECT queue, live FROM {self._counters} WHERE live > 0 ORDER BY queue"
        )
        return [(str(r["queue"]), int(r["live"])) for r in rows]

    async def last_seq(self, queue: str) -> int:
        value = await self.pool.fetchval(
            f"SELECT last FROM {self._counters} WHERE queue = $1", queue
        )
        return 0 if value is None else int(value)

    async def wait(self, queue: str, seen: int, timeout: float) -> bool:
        await self._listen()

        async def ready() -> bool:
            return await self.last_seq(queue) > seen

        return await self._wakeups.wait_for(queue, ready, timeout, self.poll)

    async def _listen(self) -> None:
        """One LISTEN connection per process, (re)opened when a request starts waiting."""
        async with self._listening:
            conn = self._listener
            if conn is not None and not conn.is_closed():
                return
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(self.channel, self._notified)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                log.warning("cannot LISTEN for queue notifications; polling", exc_info=True)
                return
            self._listener = conn

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._wakeups.notify(payload)

    async def forget_removed(self, older_than: float) -> int:
        status = await self.pool.execute(
            f"DELETE FROM {self._entries} WHERE removed IS NOT NULL AND removed < $1",
            float(older_than),
        )
        return int(status.rsplit(" ", 1)[1])

    async def close(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
        self._wakeups.notify_all()
        await self.pool.close()
