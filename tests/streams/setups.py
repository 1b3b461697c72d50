"""The store setups the stream store's HTTP tests run on, and what each leaves behind.

- `file`: the embedded default, files + SQLite in the data dir;
- `s3-redis`, `s3-postgres`: SeaweedFS (the test session's), each setup with its own key
  prefix, and Redis (its own `--redis-prefix`) or PostgreSQL (its own `--pg-schema`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.multi.cluster import leftovers, wipe_prefix
from tests.scale.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, Seaweed
from tests.servers import skip_or_fail

REDIS_URL = os.environ.get("TUSKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("TUSKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SETUPS = ("file", "s3-redis", "s3-postgres")


@dataclass
class Setup:
    """Flags of one setup, and a way to list what it stores."""

    name: str
    data_dir: Path
    args: list[str] = field(default_factory=list)
    weed: Seaweed | None = None
    prefix: str = ""

    @property
    def is_s3(self) -> bool:
        return self.weed is not None

    def stored(self) -> set[str]:
        """Everything holding stream bytes right now: data files, or bucket objects and
        multipart uploads under the setup's prefix."""
        if self.weed is None:
            if not self.data_dir.exists():
                return set()
            return {p.name for p in self.data_dir.iterdir() if not p.name.startswith(".")}
        objects, uploads = leftovers(self.weed, self.prefix)
        return {f"object:{k}" for k in objects} | {f"multipart:{k}" for k in uploads}


def _redis_prefix() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (OSError, redis.RedisError) as exc:
        client.close()
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"tuskit-streams-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


def _pg_schema() -> Iterator[str]:
    import asyncpg

    schema = f"streams_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    try:
        yield schema
    finally:
        asyncio.run(admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def s3_args(weed: Seaweed, prefix: str) -> list[str]:
    return [
        "--store", "s3", "--s3-endpoint", weed.endpoint, "--s3-bucket", BUCKET,
        "--s3-prefix", prefix, "--s3-access-key", ACCESS_KEY, "--s3-secret-key", SECRET_KEY,
        "--s3-part-size", "5MiB",
    ]  # fmt: skip


def setup(name: str, root: Path, weed: Seaweed | None) -> Iterator[Setup]:
    """The setup `name` under `root`; its state and bucket prefix are removed afterwards."""
    data = root / "data"
    if name == "file":
        yield Setup(name, data)
        return
    assert weed is not None
    prefix = f"streams-{uuid.uuid4().hex[:12]}/"
    try:
        if name == "s3-redis":
            for redis_prefix in _redis_prefix():
                args = [
                    *s3_args(weed, prefix),
                    "--state",
                    REDIS_URL,
                    "--redis-prefix",
                    redis_prefix,
                ]
                yield Setup(name, data, args, weed, prefix)
        else:
            for schema in _pg_schema():
                args = [*s3_args(weed, prefix), "--state", POSTGRES_URL, "--pg-schema", schema]
                yield Setup(name, data, args, weed, prefix)
    finally:
        wipe_prefix(weed, prefix)
