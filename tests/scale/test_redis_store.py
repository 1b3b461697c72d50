"""RedisMetadataStore and RedisLocker pass the shared contracts, plus lease and pub/sub tests."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.persist.persist_contract import LockerContract, MetadataStoreContract, new_id, record
from tests.servers import skip_or_fail
from tuskit.persist.model import UploadState
from tuskit.persist.protocols import LockTimeout
from tuskit.persist.redis_lock import RedisLocker
from tuskit.persist.redis_store import RedisMetadataStore

pytestmark = [pytest.mark.anyio, pytest.mark.services]

URL = os.environ.get("TUSKIT_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A unique key prefix for this test; every key under it is deleted afterwards."""
    client = aioredis.Redis.from_url(URL, decode_responses=True, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        await client.aclose()
        skip_or_fail(f"Redis not reachable at {URL}: {exc}")
    prefix = f"tuskit-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _client() -> aioredis.Redis:
    return aioredis.Redis.from_url(URL, decode_responses=True)


@pytest.fixture
async def metadata_store(redis_prefix: str) -> AsyncIterator[RedisMetadataStore]:
    store = RedisMetadataStore(_client(), redis_prefix)
    yield store
    await store.close()


@pytest.fixture
async def locker(redis_prefix: str) -> AsyncIterator[RedisLocker]:
    client = _client()
    locker = RedisLocker(client, redis_prefix, lease=2.0, poll_interval=0.02)
    yield locker
    await locker.close()
    await client.aclose()


class TestRedisMetadataStore(MetadataStoreContract):
    async def test_state_survives_a_new_client(
        self, metadata_store: RedisMetadataStore, redis_prefix: str
    ) -> None:
        active = record(offset=7, expires_at=5.123456789012345, created_at=1712345678.987654)
        final = record(length=None, partials=(active.id,))
        for r in (active, final):
            await metadata_store.create(r)
        other = RedisMetadataStore(_client(), redis_prefix)
        assert await other.get(active.id) == active
        assert [i.id for i in await other.finals_waiting_on(active.id)] == [final.id]
        assert [i.id for i in await other.expired(10.0, 5)] == [active.id]
        await other.close()

    async def test_indexes_follow_the_record(
        self, metadata_store: RedisMetadataStore, redis_prefix: str
    ) -> None:
        r = metadata_store.client
        info = record(expires_at=50.0)
        await metadata_store.create(info)
        assert await r.zscore(f"{redis_prefix}expiry", info.id) == 50.0
        await metadata_store.save(info.replace(offset=100))  # complete: not due any more
        assert await r.zscore(f"{redis_prefix}expiry", info.id) is None
        await metadata_store.mark(info.id, UploadState.TERMINATED, 60.0)
        assert not await r.sismember(f"{redis_prefix}active", info.id)
        assert await r.zscore(f"{redis_prefix}tombstones", info.id) == 60.0
        assert await metadata_store.purge_tombstones(100.0) == 1
        assert [k async for k in r.scan_iter(match=f"{redis_prefix}*")] == []

    async def test_all_active_pages_through_many(self, metadata_store: RedisMetadataStore) -> None:
        infos = [record() for _ in range(1200)]
        for r in infos:
            await metadata_store.create(r)
        seen = {i.id async for i in metadata_store.all_active()}
        assert seen == {i.id for i in infos}


class TestRedisLocker(LockerContract):
    async def test_lease_of_a_crashed_holder_runs_out(self, redis_prefix: str) -> None:
        uid = new_id("lease")
        crashed = RedisLocker(_client(), redis_prefix, lease=0.6, poll_interval=0.02)
        held = await crashed.acquire(uid, timeout=1, on_release_request=lambda _: None)
        held.stop_renewing()  # type: ignore[attr-defined]  # the process "died" here
        other = RedisLocker(_client(), redis_prefix, lease=2.0, poll_interval=0.02)
        start = time.monotonic()
        got = await other.acquire(uid, timeout=5, on_release_request=lambda _: None)
        waited = time.monotonic() - start
        assert 0.2 < waited < 2.0
        await got.release()
        await held.release()  # the old token no longer matches: deletes nothing
        assert await other.client.exists(other.lock_key(uid)) == 0
        for lk in (crashed, other):
            await lk.close()
            await lk.client.aclose()

    async def test_a_holder_that_cannot_renew_stops_being_held_before_the_lease_ends(
        self, redis_prefix: str
    ) -> None:
        """Fencing: a holder cut off from Redis (renewals stopped here) must know it may
        have lost the lock before another instance can take it, so it records nothing."""
        uid = new_id("fence")
        asked: list[int] = []
        a = RedisLocker(_client(), redis_prefix, lease=0.6, poll_interval=0.02)
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: asked.append(1))
        assert held.still_held()
        held.stop_renewing()  # type: ignore[attr-defined]
        await asyncio.sleep(0.6 * 0.85)  # inside the lease, past the safety margin
        assert await a.client.exists(a.lock_key(uid)) == 1  # nobody could take it yet...
        assert not held.still_held()  # ...but the holder already stops recording
        await held.release()
        await a.close()
        await a.client.aclose()

    async def test_a_lost_lease_fences_the_holder_and_asks_it_to_stop(
        self, redis_prefix: str
    ) -> None:
        uid = new_id("fence")
        asked = asyncio.Event()
        a = RedisLocker(_client(), redis_prefix, lease=0.3, poll_interval=0.02)
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: asked.set())
        await a.client.delete(a.lock_key(uid))  # the lease is gone (expired, or stolen)
        await asyncio.wait_for(asked.wait(), timeout=2)  # the next renewal notices
        assert not held.still_held()
        await held.release()
        await a.close()
        await a.client.aclose()

    async def test_renewal_keeps_a_live_holder(self, redis_prefix: str) -> None:
        uid = new_id("lease")
        a = RedisLocker(_client(), redis_prefix, lease=0.3, poll_interval=0.02)
        b = RedisLocker(_client(), redis_prefix, lease=0.3, poll_interval=0.02)
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: None)
        with pytest.raises(LockTimeout):
            await b.acquire(uid, timeout=1.0, on_release_request=lambda _: None)  # > 3 leases
        await held.release()
        again = await b.acquire(uid, timeout=1, on_release_request=lambda _: None)
        await again.release()
        for lk in (a, b):
            await lk.close()
            await lk.client.aclose()

    async def test_release_request_crosses_instances(self, redis_prefix: str) -> None:
        uid = new_id("x")
        a = RedisLocker(_client(), redis_prefix, lease=5.0, poll_interval=0.02)
        b = RedisLocker(_client(), redis_prefix, lease=5.0, poll_interval=0.02)
        asked = asyncio.Event()
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: asked.set())

        async def holder() -> None:
            await asked.wait()
            await held.release()

        task = asyncio.create_task(holder())
        start = time.monotonic()
        got = await b.acquire(uid, timeout=4, on_release_request=lambda _: None)
        assert time.monotonic() - start < 2  # on request, not after the 5 s lease
        await got.release()
        await task
        for lk in (a, b):
            await lk.close()
            await lk.client.aclose()

    async def test_timeout_across_instances_when_holder_ignores(self, redis_prefix: str) -> None:
        uid = new_id("x")
        a = RedisLocker(_client(), redis_prefix, lease=5.0, poll_interval=0.02)
        b = RedisLocker(_client(), redis_prefix, lease=5.0, poll_interval=0.02)
        calls: list[int] = []
        held = await a.acquire(uid, timeout=1, on_release_request=lambda _: calls.append(1))
        with pytest.raises(LockTimeout):
            await b.acquire(uid, timeout=0.6, on_release_request=lambda _: None)
        assert len(calls) >= 2  # asked again while waiting
        await held.release()
        for lk in (a, b):
            await lk.close()
            await lk.client.aclose()


async def test_busy_sees_holders_of_other_instances(redis_prefix: str) -> None:
    a = RedisLocker(_client(), redis_prefix, poll_interval=0.02)
    b = RedisLocker(_client(), redis_prefix, poll_interval=0.02)
    uid = new_id("busy")
    assert not await b.busy(uid)
    held = await a.acquire(uid, timeout=1, on_release_request=lambda _: None)
    assert await b.busy(uid) and await a.busy(uid)
    await held.release()
    assert not await b.busy(uid)
    for lk in (a, b):
        await lk.close()
        await lk.client.aclose()
