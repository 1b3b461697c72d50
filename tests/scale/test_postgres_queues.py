"""The PostgreSQL queue index and read leases pass their contracts (two pools stand for
two instances: the wake-up travels by LISTEN/NOTIFY). Each test gets its own schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.persist.lease_contract import ReadLeasesContract
from tests.persist.queue_contract import QueueIndexContract, woken_by_a_notification
from tuskit.persist.postgres_leases import PostgresReadLeases
from tuskit.persist.postgres_queues import PostgresQueueIndex

from . import test_postgres_store

pytestmark = [pytest.mark.anyio, pytest.mark.services]

DSN = test_postgres_store.DSN
pg_schema = test_postgres_store.pg_schema  # the fixture: a schema, dropped afterwards


class TestPostgresQueueIndex(QueueIndexContract):
    @pytest.fixture
    async def queue_index(self, pg_schema: str) -> AsyncIterator[PostgresQueueIndex]:
        index = await PostgresQueueIndex.open(DSN, pg_schema)
        yield index
        await index.close()

    @pytest.fixture
    async def other_index(self, pg_schema: str) -> AsyncIterator[PostgresQueueIndex]:
        index = await PostgresQueueIndex.open(DSN, pg_schema)
        yield index
        await index.close()

    async def test_the_wake_up_is_a_notification_not_the_poll(self, pg_schema: str) -> None:
        waiting = await PostgresQueueIndex.open(DSN, pg_schema)
        waiting.poll = 60.0
        writer = await PostgresQueueIndex.open(DSN, pg_schema)
        try:
            await woken_by_a_notification(waiting, writer)
        finally:
            await waiting.close()
            await writer.close()

    async def test_opening_twice_migrates_once(self, pg_schema: str) -> None:
        indexes = await asyncio.gather(*(PostgresQueueIndex.open(DSN, pg_schema) for _ in range(3)))
        for index in indexes:
            await index.close()
        conn = await asyncpg.connect(DSN)
        try:
            rows = await conn.fetch(f'SELECT version FROM "{pg_schema}".queues_schema')
        finally:
            await conn.close()
        assert [r["version"] for r in rows] == [1]


class TestPostgresReadLeases(ReadLeasesContract):
    @pytest.fixture
    async def read_leases(self, pg_schema: str) -> AsyncIterator[PostgresReadLeases]:
        leases = await PostgresReadLeases.open(DSN, pg_schema)
        yield leases
        await leases.close()
