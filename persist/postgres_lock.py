"""One writer per upload across server instances: PostgreSQL session advisory locks.

- A held lock is `pg_try_advisory_lock(key)` on a pool connection kept for the whole
  hold; `key` is the first 8 bytes of BLAKE2b(`namespace` NUL id) as a signed bigint (a
  collision only makes two uploads take turns). PostgreSQL frees a session's advisory
  locks when the session ends, so a crashed instance (connection gone) blocks nobody: no
  lease to tune. If the holder's connection drops, its `on_release_request` is called.
- `pg_try_advisory_lock` is polled every `poll_interval` (a blocking `pg_advisory_lock`
  would pin a connection per waiter and cannot honour the timeout without cancelling).
- Release requests: the waiter sends `NOTIFY <channel>, '<kind> <id>'` (now and every
  `ask_interval` while it waits); each locker LISTENs on one connection (registered
  before the first lock is handed out) and calls its local holder's callback for that id.
- Within one instance waiters first queue on a `ProcessLocker`, so only one task per id
  holds a connection while waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any

import asyncpg

from .locks import SharedLocker, _ask, poll_for_lock
from .protocols import HeldLock, LockTimeout, Release, ReleaseRequest

log = logging.getLogger(__name__)


class PostgresLocker(SharedLocker[Any]):
    """Locker across instances sharing a PostgreSQL server (session advisory locks)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        namespace: str = "tus",
        channel: str = "tus_release",
        poll_interval: float = 0.05,
        ask_interval: float = 0.25,
        owns_pool: bool = False,
    ) -> None:
        if poll_interval <= 0 or ask_interval <= 0:
            raise ValueError("poll_interval and ask_interval must be positive")
        self.pool = pool
        self.namespace = namespace
        self.channel = channel
        self.poll_interval = poll_interval
        self.ask_interval = ask_interval
        self._owns_pool = owns_pool
        super().__init__()
        self._held: dict[str, _PgHeld] = {}
        self._listener: Any = None  # the LISTEN connection
        self._start_lock = asyncio.Lock()

    @classmethod
    async def open(cls, dsn: str, *, max_size: int = 20, **options: Any) -> PostgresLocker:
        """A locker with its own pool: one connection per held lock, plus one to LISTEN."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
        return cls(pool, owns_pool=True, **options)

    def lock_key(self, upload_id: str) -> int:
        digest = hashlib.blake2b(f"{self.namespace}\0{upload_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    def _hold(
        self, upload_id: str, taken: Any, local: HeldLock, on_release_request: ReleaseRequest
    ) -> HeldLock:
        held = _PgHeld(self, upload_id, taken, local, on_release_request)
        self._held[upload_id] = held
        return held

    async def busy(self, upload_id: str) -> bool:
        """Held by any session of this database (one pg_locks lookup); optional LockProbe."""
        if upload_id in self._held:
            return True
        key = self.lock_key(upload_id) & 0xFFFF_FFFF_FFFF_FFFF
        return bool(
            await self.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1)",
                key >> 32,
                key & 0xFFFF_FFFF,
            )
        )

    async def _take(self, upload_id: str, deadline: float, ask: Release | None) -> Any:
        key = self.lock_key(upload_id)
        try:
            conn = await self.pool.acquire(timeout=max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise LockTimeout(f"no database connection for the lock on {upload_id}") from None
        try:
            await poll_for_lock(
                lambda: conn.fetchval("SELECT pg_try_advisory_lock($1)", key),
                (
                    lambda: conn.execute(
                        "SELECT pg_notify($1, $2)", self.channel, f"{ask.value} {upload_id}"
                    )
                )
                if ask is not None
                else None,
                deadline=deadline,
                poll_interval=self.poll_interval,
                ask_interval=self.ask_interval,
                what=f"lock on {upload_id} not released in time (other instance)",
            )
            return conn
        except BaseException:
            await self.pool.release(conn)
            raise

    async def _listen(self) -> None:
        if self._listener is not None:
            return
        async with self._start_lock:
            if self._listener is not None:
                return
            conn = await self.pool.acquire()
            try:
                await conn.add_listener(self.channel, self._on_notify)  # LISTEN, awaited
            except BaseException:
                await self.pool.release(conn)
                raise
            self._listener = conn

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        text, _, upload_id = str(payload).rpartition(" ")
        held = self._held.get(upload_id)
        if held is not None:
            try:
                kind = Release(text)
            except ValueError:
                kind = Release.STOP  # an older server sent only the id: "stop"
            _ask(held.on_release_request, held.upload_id, kind)

    async def close(self) -> None:
        """Release every lock still held, stop listening, close the pool if it owns it."""
        for held in list(self._held.values()):
            await held.release()
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.remove_listener(self.channel, self._on_notify)
            await self.pool.release(conn)
        if self._owns_pool:
            await self.pool.close()


class _PgHeld:
    def __init__(
        self,
        locker: PostgresLocker,
        upload_id: str,
        conn: Any,
        local: HeldLock,
        on_release_request: ReleaseRequest,
    ) -> None:
        self.locker = locker
        self.upload_id = upload_id
        self.conn: Any = conn
        self.local = local
        self.on_release_request = on_release_request
        self.lost = False
        conn.add_termination_listener(self._terminated)

    @property
    def backend_pid(self) -> int:
        """The PostgreSQL backend holding the lock (tests end it to simulate a crash)."""
        return int(self.conn.get_server_pid())

    def still_held(self) -> bool:
        conn = self.conn
        return conn is not None and not self.lost and not conn.is_closed()

    def _terminated(self, _conn: object) -> None:
        self.lost = True
        log.warning("database session holding the lock on %s ended", self.upload_id)
        _ask(self.on_release_request, self.upload_id, Release.STOP)

    async def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if self.locker._held.get(self.upload_id) is self:
            del self.locker._held[self.upload_id]
        try:
            conn.remove_termination_listener(self._terminated)
            if not self.lost and not conn.is_closed():
                await conn.execute(
                    "SELECT pg_advisory_unlock($1)", self.locker.lock_key(self.upload_id)
                )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("unlocking %s failed; the session reset frees it", self.upload_id)
        finally:
            try:
                await self.locker.pool.release(conn)
            finally:
                await self.local.release()
