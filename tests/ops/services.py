"""Unique places on the shared services for one test (Redis prefix, PostgreSQL schema),
removed afterwards; a missing service skips (fails under REQUIRE_SERVICES=1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Iterator

from tests.servers import skip_or_fail

REDIS_URL = os.environ.get("TUSKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("TUSKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("TUSKIT_NATS_URL", "nats://127.0.0.1:4222")
AMQP_URL = os.environ.get("TUSKIT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2):
        return True
    return False


def require(name: str, host: str, port: int) -> None:
    if not reachable(host, port):
        skip_or_fail(f"{name} not reachable at {host}:{port}")


@contextlib.contextmanager
def state_args(kind: str) -> Iterator[list[str]]:
    """Flags for `--state <kind>` on a fresh prefix or schema (dropped afterwards)."""
    if kind == "sqlite":
        yield []
        return
    tag = uuid.uuid4().hex[:12]
    if kind == "redis":
        require("Redis", "127.0.0.1", 6379)
        prefix = f"tuskit-ops-{tag}:"
        try:
            yield ["--state", REDIS_URL, "--redis-prefix", prefix]
        finally:
            asyncio.run(_drop_redis(prefix))
        return
    require("PostgreSQL", "127.0.0.1", 5432)
    schema = f"tus_ops_{tag}"
    try:
        yield ["--state", PG_URL, "--pg-schema", schema]
    finally:
        asyncio.run(_drop_schema(schema))


async def _drop_redis(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await conn.close()
