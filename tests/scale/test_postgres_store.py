"""PostgresMetadataStore and PostgresLocker pass the shared contracts, plus crash and
cross-instance release tests. Each test gets its own schema (dropped afterwards)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.persist.persist_contract import LockerContract, MetadataStoreContract, new_id, record
from tests.servers import skip_or_fail
from tuskit.persist.model import UploadState
from tuskit.persist.postgres_lock import PostgresLocker
from tuskit.persist.postgres_store import SCHEMA_VERSION, PostgresMetadataStore, migrate
from tuskit.persist.protocols import LockTimeout

pytestmark = [pytest.mark.anyio, pytest.mark.services]

DSN = os.environ.get("TUSKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A unique schema name; dropped with everything in it afterwards."""
    try:
        conn = await asyncpg.connect(DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        skip_or_fail(f"PostgreSQL not reachable at {DSN}: {exc}")
    schema = f"tus_test_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


@pytest.fixture
async def metadata_store(pg_schema: str) -> AsyncIterator[PostgresMetadataStore]:
    store = await PostgresMetadataStore.open(DSN, pg_schema, max_size=4)
    yield store
    await store.close()


async def _locker(channel: str) -> PostgresLocker:
    return await PostgresLocker.open(
        DSN, max_size=8, namespace=channel, channel=channel, poll_interval=0.02
    )


@pytest.fixture
async def locker(pg_schema: str) -> AsyncIterator[PostgresLocker]:
    locker = await _locker(pg_schema)  # the schema name doubles as a unique channel
    yield locker
    await locker.close()


class TestPostgresMetadataStore(MetadataStoreContract):
    async def test_state_survives_reopen(self, pg_schema: str) -> None:
        store = await PostgresMetadataStore.open(DSN, pg_schema)
        active = record(offset=7, expires_at=5.123456789012345, created_at=1712345678.987654)
        dead = record()
        final = record(length=None, partials=(active.id,))
        for r in (active, dead, final):
            await store.create(r)
        await store.mark(dead.id, UploadState.EXPIRED, 9.0)
        await store.close()
        again = await PostgresMetadataStore.open(DSN, pg_schema)  # migrates nothing
        assert await again.schema_version() == SCHEMA_VERSION
        assert await again.get(active.id) == active
        got = await again.get(dead.id)
        assert got is not None and got.state is UploadState.EXPIRED
        assert [i.id for i in await again.finals_waiting_on(active.id)] == [final.id]
        assert [i.id for i in await again.expired(10.0, 5)] == [active.id]
        await again.close()

    async def test_concurrent_migrations_and_newer_schema(self, pg_schema: str) -> None:
        pools = [await asyncpg.create_pool(DSN, min_size=1, max_size=1) for _ in range(3)]
        found = await asyncio.gather(*(migrate(p, pg_schema) for p in pools))
        assert sorted(found) == [0, 1, 1]  # exactly one instance created the tables
        await pools[0].execute(f'UPDATE "{pg_schema}".tus_schema_version SET version = 99')
        with pytest.raises(RuntimeError, match="newer"):
            await migrate(pools[1], pg_schema)
        for p in pools:
            await p.close()

    async def test_queries_can_use_indexes(self, metadata_store: PostgresMetadataStore) -> None:
        t = f'"{metadata_store.schema}".uploads'
        async with metadata_store.pool.acquire() as conn:
            await conn.execute("SET enable_seqscan = off")
            for sql in (
                f"SELECT id FROM {t} WHERE partials IS NOT NULL AND partials @> ARRAY['x']",
                f"SELECT id FROM {t} WHERE state = 'active' AND expires_at IS NOT NULL"
                " AND expires_at < 1 ORDER BY expires_at",
                f"SELECT id FROM {t} WHERE state <> 'active' AND updated_at < 1",
            ):
                plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql))
                assert "Index" in plan or "Bitmap" in plan, plan
            await conn.execute("RESET enable_seqscan")

    async def test_unsafe_schema_names_are_refused(self) -> None:
        with pytest.raises(ValueError):
            await PostgresMetadataStore.open(DSN, 'x"; DROP TABLE y; --')


class TestPostgresLocker(LockerContract):
    async def test_crashed_holder_session_frees_the_lock(self, pg_schema: str) -> None:
        uid = new_id("crash")
        a, b = await _locker(pg_schema), await _locker(pg_schema)
        told = asyncio.Event()
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: told.set())
        with pytest.raises(LockTimeout):
            await b.acquire(uid, timeout=0.2, on_release_request=lambda _: None)
        told.clear()
        # The holder's session dies (instance crash, network cut): the server frees it.
        admin = await asyncpg.connect(DSN)
        await admin.execute("SELECT pg_terminate_backend($1)", held.backend_pid)  # type: ignore[attr-defined]
        await admin.close()
        start = time.monotonic()
        got = await b.acquire(uid, timeout=5, on_release_request=lambda _: None)
        assert time.monotonic() - start < 2
        await asyncio.wait_for(told.wait(), 2)  # the old holder was told it lost the lock
        assert not held.still_held()  # and is fenced: it records nothing more
        await held.release()  # harmless
        await got.release()
        await a.close()
        await b.close()

    async def test_release_request_crosses_instances(self, pg_schema: str) -> None:
        uid = new_id("x")
        a, b = await _locker(pg_schema), await _locker(pg_schema)
        asked = asyncio.Event()
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: asked.set())

        async def holder() -> None:
            await asked.wait()
            await held.release()

        task = asyncio.create_task(holder())
        start = time.monotonic()
        got = await b.acquire(uid, timeout=4, on_release_request=lambda _: None)
        assert time.monotonic() - start < 2
        await got.release()
        await task
        # Released cleanly: a third session can take it at once.
        again = await a.acquire(uid, timeout=0.5, on_release_request=lambda _: None)
        await again.release()
        await a.close()
        await b.close()

    async def test_different_namespaces_do_not_collide(self, pg_schema: str) -> None:
        a = await _locker(pg_schema)
        b = await _locker(pg_schema + "_other")
        assert a.lock_key("same") != b.lock_key("same")
        h1 = await a.acquire("same", timeout=1, on_release_request=lambda _: None)
        h2 = await b.acquire("same", timeout=0.2, on_release_request=lambda _: None)
        await h1.release()
        await h2.release()
        await a.close()
        await b.close()


async def test_busy_sees_holders_of_other_instances(pg_schema: str) -> None:
    a, b = await _locker(pg_schema), await _locker(pg_schema)
    candidates = [new_id("busy") for _ in range(64)]
    negative = next(u for u in candidates if a.lock_key(u) < 0)
    positive = next(u for u in candidates if a.lock_key(u) >= 0)
    for uid in (negative, positive):  # pg_locks splits the bigint into two oids
        assert not await b.busy(uid)
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: None)
        assert await b.busy(uid) and await a.busy(uid)
        await held.release()
        assert not await b.busy(uid)
    await a.close()
    await b.close()
