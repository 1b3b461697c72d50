"""Several `upload` processes sharing one S3 bucket (SeaweedFS) and one state backend.

The state backend is parametrized: Redis or PostgreSQL. The server has no flag for a
Redis key prefix or a PostgreSQL schema (it uses `tus:` and `public`), so each test
gets its own Redis database number (claimed with a marker key, its `tus:` keys deleted
afterwards) or its own PostgreSQL database (dropped afterwards). Each test also gets its
own S3 key prefix in the shared test bucket, wiped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import MakeServer, make_server  # noqa: F401  (fixture reused)
from tests.scale.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, Seaweed, seaweed  # noqa: F401
from tests.servers import UploadServer, skip_or_fail

from .cluster import wipe_prefix

REDIS_URL = os.environ.get("TUSKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("TUSKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CLAIM_KEY = "tuskit-multi:claim"  # marks a Redis database as taken by one test run
SERVER_KEY_PREFIX = "tus:"  # what `upload --state redis://...` uses (no flag to change it)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _redis_state() -> Iterator[str]:
    import redis

    probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        probe.ping()
        databases = int(probe.config_get("databases").get("databases") or 16)
    except (OSError, redis.RedisError) as exc:
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        probe.close()
    token = uuid.uuid4().hex
    candidates = list(range(1, databases))
    random.shuffle(candidates)
    for db in candidates:
        url = _with_path(REDIS_URL, f"/{db}")
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        if client.set(CLAIM_KEY, token, nx=True, ex=900) and client.dbsize() == 1:
            break
        if client.get(CLAIM_KEY) == token.encode():
            client.delete(CLAIM_KEY)  # claimed, but something else lives there
        client.close()
    else:
        skip_or_fail("no empty Redis database (1..N) to give the servers their own `tus:` keys")
    try:
        yield url
    finally:
        keys = list(client.scan_iter(match=f"{SERVER_KEY_PREFIX}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        if client.get(CLAIM_KEY) == token.encode():
            client.delete(CLAIM_KEY)
        client.close()


def _postgres_state() -> Iterator[str]:
    import asyncpg

    name = f"tusmulti_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        skip_or_fail(f"PostgreSQL not reachable (or no CREATE DATABASE) at {POSTGRES_URL}: {exc}")
    try:
        yield _with_path(POSTGRES_URL, f"/{name}")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["redis", "postgres"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """`--state` for this test: a Redis database or a PostgreSQL database of its own."""
    yield from (_redis_state() if request.param == "redis" else _postgres_state())


@dataclass
class Cluster:
    """`upload` processes with the same bucket, key prefix and state backend."""

    make: MakeServer
    weed: Seaweed
    state: str
    prefix: str
    root: Path
    servers: list[UploadServer] = field(default_factory=list)

    def args(self, *extra: str) -> list[str]:
        return [
            "--store", "s3", "--s3-endpoint", self.weed.endpoint, "--s3-bucket", BUCKET,
            "--s3-prefix", self.prefix, "--s3-access-key", ACCESS_KEY,
            "--s3-secret-key", SECRET_KEY, "--s3-part-size", "5MiB",
            "--state", self.state, "--lock-timeout", "5s", *extra,
        ]  # fmt: skip

    def start(self, n: int, *extra: str) -> list[UploadServer]:
        """`n` more instances, each with its own (unused) data dir and port."""
        started = []
        for _ in range(n):
            data = self.root / f"data-{len(self.servers)}"
            server = self.make(data, *self.args(*extra))
            self.servers.append(server)
            started.append(server)
        return started

    def logs(self) -> str:
        return "\n".join(f"--- server log ({s.port}) ---\n{s.log()[-3000:]}" for s in self.servers)


@pytest.fixture
def cluster(
    make_server: MakeServer,  # noqa: F811
    seaweed: Seaweed,  # noqa: F811
    state_url: str,
    tmp_path: Path,
) -> Iterator[Cluster]:
    prefix = f"multi-{uuid.uuid4().hex[:12]}/"
    c = Cluster(make_server, seaweed, state_url, prefix, tmp_path)
    try:
        yield c
    finally:
        for server in c.servers:  # before the prefix is wiped and the state dropped
            server.stop()
        wipe_prefix(seaweed, prefix)
        # Capacity does not depend on it (-volume.max=0), but deleted objects keep their
        # disk space until a vacuum (every 15 minutes by default): reclaim it per test.
        seaweed.vacuum()
