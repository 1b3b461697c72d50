"""Assembly from parts on the scale-out stores: Redis and PostgreSQL state, parts in S3
(SeaweedFS). Each test gets its own Redis prefix, PostgreSQL schema or S3 key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.persist.assembly_contract import AssemblyStoreContract, PartsEnv, PartStoreContract
from tests.servers import skip_or_fail
from tuskit.persist.model import UploadInfo
from tuskit.persist.postgres_assemblies import PostgresAssemblyStore
from tuskit.persist.redis_assemblies import RedisAssemblyStore
from tuskit.persist.s3_parts import S3Parts
from tuskit.persist.s3store import MIN_PART, S3ByteStore, open_s3

from .seaweed import Seaweed
from .test_s3store import config, leftovers, wipe

pytestmark = [pytest.mark.anyio, pytest.mark.services]

REDIS = os.environ.get("TUSKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
DSN = os.environ.get("TUSKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _redis_store() -> AsyncIterator[RedisAssemblyStore]:
    client = aioredis.Redis.from_url(REDIS, decode_responses=True, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        await client.aclose()
        skip_or_fail(f"Redis not reachable at {REDIS}: {exc}")
    prefix = f"tuskit-test-{uuid.uuid4().hex[:12]}:"
    store = RedisAssemblyStore(client, prefix)
    try:
        yield store
    finally:
        cleaner = aioredis.Redis.from_url(REDIS, decode_responses=True)
        keys = [k async for k in cleaner.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await cleaner.delete(*keys)
        await cleaner.aclose()
        await store.close()


async def _postgres_store() -> AsyncIterator[PostgresAssemblyStore]:
    try:
        conn = await asyncpg.connect(DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        skip_or_fail(f"PostgreSQL not reachable at {DSN}: {exc}")
    schema = f"asm_test_{uuid.uuid4().hex[:12]}"
    store = await PostgresAssemblyStore.open(DSN, schema, max_size=8)
    try:
        yield store
    finally:
        await store.close()
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


@pytest.fixture(params=["redis", "postgres"])
async def assembly_store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    source = _redis_store() if request.param == "redis" else _postgres_store()
    async for store in source:
        yield store


class TestSharedAssemblyStores(AssemblyStoreContract):
    pass


@pytest.fixture
async def parts_env(seaweed: Seaweed) -> AsyncIterator[PartsEnv]:
    prefix = f"asm-{uuid.uuid4().hex[:12]}/"
    store: S3ByteStore = await open_s3(config(seaweed, prefix))

    async def left(target: UploadInfo) -> list[str]:
        objects, uploads = leftovers(seaweed, prefix)
        return objects + [f"multipart:{k}" for k in uploads]

    try:
        yield PartsEnv(S3Parts(store), store, left, MIN_PART)
    finally:
        await store.close()
        wipe(seaweed, prefix)


class TestS3Parts(PartStoreContract):
    async def test_one_multipart_part_per_part(self, parts_env: PartsEnv, seaweed: Seaweed) -> None:
        parts = parts_env.parts
        assert isinstance(parts, S3Parts)
        p = MIN_PART
        target = UploadInfo(id=f"mp-{uuid.uuid4().hex[:8]}", length=2 * p + 7, offset=2 * p + 7)
        target = target.replace(storage=await parts.begin_parts(target, p))
        writer = await parts.open_part(target, 2, 2 * p, 7)
        await writer.write(b"1234567")
        await writer.commit()
        listed = await parts.store.list_parts(target.id, target.storage_get("multipart_id"))
        assert listed[3][0] == 7  # part index 2 is PartNumber 3
        await parts.abandon_parts(target)
