"""The Redis queue index and read leases pass their contracts (two clients stand for two
instances: the wake-up travels by pub/sub)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.persist.lease_contract import ReadLeasesContract
from tests.persist.queue_contract import QueueIndexContract, woken_by_a_notification
from tuskit.persist.redis_leases import RedisReadLeases
from tuskit.persist.redis_queues import RedisQueueIndex

from . import test_redis_store

pytestmark = [pytest.mark.anyio, pytest.mark.services]

URL = test_redis_store.URL
redis_prefix = test_redis_store.redis_prefix  # the fixture: a key prefix, wiped afterwards


class TestRedisQueueIndex(QueueIndexContract):
    @pytest.fixture
    async def queue_index(self, redis_prefix: str) -> AsyncIterator[RedisQueueIndex]:
        index = RedisQueueIndex.from_url(URL, redis_prefix)
        yield index
        await index.close()

    @pytest.fixture
    async def other_index(self, redis_prefix: str) -> AsyncIterator[RedisQueueIndex]:
        index = RedisQueueIndex.from_url(URL, redis_prefix)
        yield index
        await index.close()

    async def test_the_wake_up_is_a_notification_not_the_poll(self, redis_prefix: str) -> None:
        waiting = RedisQueueIndex(
            aioredis.Redis.from_url(URL, decode_responses=True), redis_prefix, poll=60.0
        )
        writer = RedisQueueIndex.from_url(URL, redis_prefix)
        try:
            await woken_by_a_notification(waiting, writer)
        finally:
            await waiting.close()
            await writer.close()


class TestRedisReadLeases(ReadLeasesContract):
    @pytest.fixture
    async def read_leases(self, redis_prefix: str) -> AsyncIterator[RedisReadLeases]:
        leases = RedisReadLeases.from_url(URL, redis_prefix)
        yield leases
        await leases.close()
