"""``--preload N``: N upload records written straight into a state store, not through HTTP.

What a busy server's data dir looks like after a while: half the uploads finished, half
stopped halfway, each with a data file of the right size (sparse: no disk blocks, so a
million of them cost inodes, not gigabytes). Records go into the store the server will
use, in that store's own format, in bulk:

* SQLite (default): one transaction of INSERTs into `<data_dir>/.state/uploads.sqlite3`;
* Redis (`--state redis://...` in ``--ours-args``): the store's own create script,
  pipelined;
* PostgreSQL (`--state postgresql://...`): COPY into the schema's table.

The store is opened through its own class first, so its schema is created (or migrated)
by the code under test. Finished uploads carry an expiry in the past (what the engine
wrote before completion dropped it), unfinished ones an expiry in the future, so one
expiry sweep has nothing to expire: it measures only what finding nothing costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shlex
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tuskit.persist.model import UploadInfo

MARKER = "preload.json"  # next to the data dir: `<data_dir>.preload.json`
SQLITE_FILE = Path(".state") / "uploads.sqlite3"
_BATCH = 5000
_DAY = 86400.0


@dataclass(frozen=True)
class StateArgs:
    """Where the server keeps state, as its flags say (`--ours-args`)."""

    state: str = ""
    redis_prefix: str = "tus:"
    pg_schema: str = "public"

    @property
    def kind(self) -> str:
        if self.state.startswith(("redis://", "rediss://", "unix://")):
            return "redis"
        if self.state.startswith(("postgresql://", "postgres://")):
            return "postgres"
        return "sqlite"

    @classmethod
    def from_flags(cls, flags: Sequence[str]) -> StateArgs:
        """`--state X`, `--state=X`, `--redis-prefix`, `--pg-schema` among `flags`."""
        found: dict[str, str] = {}
        names = {"--state": "state", "--redis-prefix": "redis_prefix", "--pg-schema": "pg_schema"}
        items = list(flags)
        for i, flag in enumerate(items):
            name, eq, value = flag.partition("=")
            if name in names:
                if not eq:
                    value = items[i + 1] if i + 1 < len(items) else ""
                found[names[name]] = value
        return cls(**found)

    def with_suffix(self, suffix: str) -> StateArgs:
        """The same store under another prefix/schema (the empty store of a comparison)."""
        if self.kind == "redis":
            return StateArgs(self.state, f"{self.redis_prefix}{suffix}:", self.pg_schema)
        if self.kind == "postgres":
            return StateArgs(self.state, self.redis_prefix, f"{self.pg_schema}_{suffix}")
        return self

    def flags(self) -> list[str]:
        if self.kind == "sqlite":
            return ["--state", self.state] if self.state else []
        return [
            "--state", self.state, "--redis-prefix", self.redis_prefix,
            "--pg-schema", self.pg_schema,
        ]  # fmt: skip

    def describe(self) -> str:
        if self.kind == "redis":
            return f"Redis (prefix {self.redis_prefix})"
        if self.kind == "postgres":
            return f"PostgreSQL (schema {self.pg_schema})"
        return "SQLite"


def strip_state_flags(flags: Sequence[str]) -> list[str]:
    """`flags` without the state flags (the comparison sets its own)."""
    out: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
            continue
        name, eq, _ = flag.partition("=")
        if name in ("--state", "--redis-prefix", "--pg-schema"):
            skip = not eq
            continue
        out.append(flag)
    return out


@dataclass(frozen=True)
class Preloaded:
    """What `preload` wrote (also kept as JSON next to the data dir, for reuse)."""

    records: int
    store: str
    state: dict[str, str]
    seconds: float
    sample_ids: tuple[str, ...]  # a few ids, finished and unfinished, for HEAD probes


def _records(n: int, seed: int, now: float) -> Iterator[UploadInfo]:
    """Half finished (even), half halfway (odd); lengths 64 KiB .. 64 MiB, log-uniform."""
    rng = random.Random(seed)
    for i in range(n):
        length = int(2 ** rng.uniform(16, 26))
        finished = i % 2 == 0
        if finished:  # days ago; its old expiry (kept by the engine before) is past
            created = now - rng.uniform(2, 30) * _DAY
            updated = created + rng.uniform(0, 3600)
        else:  # recently; expires a day after its last bytes
            updated = now - rng.uniform(0, 12 * 3600)
            created = updated - rng.uniform(0, 3600)
        yield UploadInfo(
            id=f"{rng.getrandbits(128):032x}",
            length=length,
            offset=length if finished else length // 2,
            metadata=(("filename", f"file-{i}.bin"),),
            created_at=created,
            updated_at=updated,
            expires_at=updated + _DAY,
        )


def _batches(it: Iterator[UploadInfo], size: int) -> Iterator[list[UploadInfo]]:
    batch: list[UploadInfo] = []
    for info in it:
        batch.append(info)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _files(data_dir: Path, batch: list[UploadInfo]) -> None:
    """Sparse data files of each record's offset (no blocks written)."""
    for info in batch:
        fd = os.open(data_dir / info.id, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, info.offset)
        finally:
            os.close(fd)


def _sqlite(data_dir: Path, args: StateArgs, infos: Iterator[UploadInfo]) -> None:
    from tuskit.persist import sqlite as store_module

    path = (
        Path(args.state[len("sqlite:///") :])
        if args.state.startswith("sqlite:")
        else (data_dir / SQLITE_FILE)
    )
    store = store_module.SqliteMetadataStore(path)  # schema by the code under test
    asyncio.run(store.close())
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")
        columns = store_module._COLUMNS
        marks = ", ".join("?" * len(columns.split(",")))
        db.execute("BEGIN")
        for batch in _batches(infos, _BATCH):
            _files(data_dir, batch)
            db.executemany(
                f"INSERT INTO uploads ({columns}) VALUES ({marks})",
                [store_module._row(i) for i in batch],
            )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def _redis(data_dir: Path, args: StateArgs, infos: Iterator[UploadInfo]) -> None:
    from tuskit.persist import redis_store as m

    store = m.RedisMetadataStore.from_url(args.state, args.redis_prefix)
    try:
        for batch in _batches(infos, _BATCH):
            await asyncio.to_thread(_files, data_dir, batch)
            pipe = store.client.pipeline(transaction=False)
            for info in batch:
                keys = [store._key(info.id), store._expiry, store._active, store._tombstones]
                argv = [
                    "create", info.id, m._doc(info), info.state.value,
                    repr(float(info.updated_at)), m._xscore(info), json.dumps(None),
                ]  # fmt: skip
                await store._put(keys=keys, args=argv, client=pipe)
            await pipe.execute()
    finally:
        await store.close()


async def _postgres(data_dir: Path, args: StateArgs, infos: Iterator[UploadInfo]) -> None:
    from tuskit.persist import postgres_store as m

    store = await m.PostgresMetadataStore.open(args.state, args.pg_schema)
    try:
        columns = [c.strip() for c in m._COLUMNS.split(",")]
        async with store.pool.acquire() as conn:
            for batch in _batches(infos, _BATCH * 4):
                await asyncio.to_thread(_files, data_dir, batch)
                await conn.copy_records_to_table(
                    "uploads",
                    schema_name=args.pg_schema,
                    columns=columns,
                    records=[m._row(i) for i in batch],
                )
            await conn.execute(f"ANALYZE {m.quote_schema(args.pg_schema)}.uploads")
    finally:
        await store.close()


def preload(
    data_dir: Path, n: int, args: StateArgs, *, seed: int = 1, now: float | None = None
) -> Preloaded:
    """Write `n` records into the store `args` names, and their data files into `data_dir`;
    reuse an earlier preload of the same size and store (its marker file says so)."""
    marker = data_dir.with_name(data_dir.name + "." + MARKER)
    if marker.exists():
        old = json.loads(marker.read_text())
        if old["records"] == n and old["state"] == asdict(args):
            old["sample_ids"] = tuple(old["sample_ids"])
            return Preloaded(**old)
    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    started = time.monotonic()
    infos = _records(n, seed, now)
    if args.kind == "redis":
        asyncio.run(_redis(data_dir, args, infos))
    elif args.kind == "postgres":
        asyncio.run(_postgres(data_dir, args, infos))
    else:
        _sqlite(data_dir, args, infos)
    samples = tuple(i.id for i in _records(min(n, 64), seed, now))
    done = Preloaded(n, args.kind, asdict(args), time.monotonic() - started, samples)
    marker.write_text(json.dumps(asdict(done)) + "\n")
    return done


def clear_state(args: StateArgs) -> None:
    """Forget everything under a Redis prefix or a PostgreSQL schema (SQLite lives in the
    data dir, which the caller removes)."""
    if args.kind == "redis":
        asyncio.run(_clear_redis(args))
    elif args.kind == "postgres":
        asyncio.run(_clear_postgres(args))


async def _clear_redis(args: StateArgs) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(args.state, decode_responses=True)
    try:
        batch: list[str] = []
        async for key in client.scan_iter(match=f"{args.redis_prefix}*", count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


async def _clear_postgres(args: StateArgs) -> None:
    import asyncpg

    from tuskit.persist.postgres_store import quote_schema

    conn = await asyncpg.connect(args.state)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(args.pg_schema)} CASCADE")
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.preload DATA_DIR N [server flags]`: preload only (for timing by hand)."""
    import sys

    items = list(sys.argv[1:] if argv is None else argv)
    if len(items) < 2:
        print("usage: python -m bench.preload DATA_DIR N [--state URL ...]")
        return 2
    args = StateArgs.from_flags(items[2:])
    done = preload(Path(items[0]).resolve(), int(items[1]), args)
    print(f"{done.records} records into {args.describe()} in {done.seconds:.1f} s "
          f"({shlex.join(args.flags())})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
