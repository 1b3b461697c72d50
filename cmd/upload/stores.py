"""Build the StoreComposer the settings ask for: the embedded default, or scale-out stores.

`--store` picks where bytes go (file, s3); `--state` picks where upload state and locks
go (sqlite (default, under the data dir), sqlite:///path, redis://..., postgresql://...).
"""

from __future__ import annotations

from pathlib import Path

from tuskit.persist import (
    STATE_FILE,
    FileByteStore,
    FileLocker,
    FsyncPolicy,
    SqliteMetadataStore,
)
from tuskit.persist.composer import StoreComposer
from tuskit.persist.protocols import AssemblyStore, ByteStore, Locker, MetadataStore
from tuskit.persist.recovery import BackgroundRecovery
from tuskit.persist.runmark import DurabilityMark

from .extras import needs_leases, open_leases, open_queues
from .settings import Settings


async def open_stores(settings: Settings) -> StoreComposer:
    """Files + SQLite + flock under `--data-dir` by default: no external service. Queues
    (for the stream store) and read leases (for object storage) on the same state."""
    byte_store = await _open_bytes(settings)
    metadata, locker = await _open_state(settings)
    assemblies = await _open_assemblies(settings) if settings.sessions else None
    stores = StoreComposer(byte_store, metadata, locker, assemblies)
    try:
        if needs_leases(byte_store):
            stores.leases = await open_leases(settings)
        if settings.streams:
            stores.queues = await open_queues(settings)
    except BaseException:
        await stores.close()
        raise
    return stores


def runs_local_recovery(settings: Settings) -> bool:
    """Recovery looks at the files of a data dir: none with S3 (there every writer
    reconciles the upload it opens, and a bucket lifecycle rule takes orphans)."""
    return settings.store == "file"


def background_recovery(stores: StoreComposer, settings: Settings) -> BackgroundRecovery | None:
    """Recovery to run beside the serving server, only what earlier runs left owed (the
    mark in `<data-dir>/.state` remembers): the orphan sweep after a run that did not stop
    cleanly, a walk over every record after a reboot that followed a run with a relaxed
    `--fsync`. One process per data dir does it at a time."""
    if not runs_local_recovery(settings):
        return None
    state_dir = settings.data_dir / STATE_FILE.parent
    mark = DurabilityMark(state_dir)
    owed = mark.begin_run(relaxed=FsyncPolicy.parse(settings.fsync).relaxed)
    return BackgroundRecovery(
        stores,
        walk=owed.walk,
        sweep=owed.sweep,
        lock_path=state_dir / "recovery.lock",
        on_walked=mark.walk_done,
        on_swept=mark.sweep_done,
        on_clean_stop=mark.end_run,
    )


async def _open_bytes(settings: Settings) -> ByteStore:
    if settings.store == "file":
        return FileByteStore(
            settings.data_dir, FsyncPolicy.parse(settings.fsync), group_sync=settings.group_sync
        )
    if settings.store == "s3":
        from tuskit.persist.s3store import S3Config, open_s3

        if not settings.s3_bucket:
            raise ValueError("--store s3 needs --s3-bucket")
        return await open_s3(
            S3Config(
                bucket=settings.s3_bucket,
                endpoint_url=settings.s3_endpoint or None,
                region=settings.s3_region,
                prefix=settings.s3_prefix,
                access_key=settings.s3_access_key or None,
                secret_key=settings.s3_secret_key or None,
                path_style=settings.s3_path_style,
                part_size=settings.s3_part_size,
                max_size=settings.max_size or None,
            )
        )
    raise ValueError(f"unknown --store {settings.store!r}: use file or s3")


async def _open_assemblies(settings: Settings) -> AssemblyStore:
    """Session state beside the upload state: its own SQLite file, Redis keys
    (`<prefix>asm:`) or PostgreSQL tables (`assemblies`, `assembly_parts`)."""
    state = settings.state
    if state in ("", "sqlite") or state.startswith("sqlite:///"):
        from tuskit.persist.sqlite_assemblies import SqliteAssemblyStore, sessions_path

        uploads = (
            settings.data_dir / STATE_FILE
            if state in ("", "sqlite")
            else Path(state[len("sqlite:///") :])
        )
        return SqliteAssemblyStore(sessions_path(uploads))
    if state.startswith(("redis://", "rediss://", "unix://")):
        from tuskit.persist.redis_assemblies import RedisAssemblyStore

        return RedisAssemblyStore.from_url(state, prefix=settings.redis_prefix)
    if state.startswith(("postgresql://", "postgres://")):
        from tuskit.persist.postgres_assemblies import PostgresAssemblyStore

        return await PostgresAssemblyStore.open(state, settings.pg_schema)
    raise ValueError(f"unknown --state {state!r}")


async def _open_state(settings: Settings) -> tuple[MetadataStore, Locker]:
    state = settings.state
    if state in ("", "sqlite"):
        return SqliteMetadataStore(settings.data_dir / STATE_FILE), FileLocker(settings.data_dir)
    if state.startswith("sqlite:///"):
        path = Path(state[len("sqlite:///") :])
        return SqliteMetadataStore(path), FileLocker(settings.data_dir)
    if state.startswith(("redis://", "rediss://", "unix://")):
        from tuskit.persist.redis_store import open_redis

        return open_redis(state, prefix=settings.redis_prefix)
    if state.startswith(("postgresql://", "postgres://")):
        from tuskit.persist.postgres_store import open_postgres

        return await open_postgres(state, settings.pg_schema)
    raise ValueError(
        f"unknown --state {state!r}: use sqlite, sqlite:///path, redis://..., postgresql://..."
    )
