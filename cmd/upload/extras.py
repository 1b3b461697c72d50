"""The optional state components beside the upload records, on the same `--state`:
queues of finished uploads (the stream store's FIFO queues) and read leases (deletes
that wait for running reads, needed where the byte store cannot keep deleted bytes
readable: object storage).

Each lives next to the deployment's upload state: its own SQLite file beside
`uploads.sqlite3`, keys under `--redis-prefix`, tables in `--pg-schema`.
"""

from __future__ import annotations

from pathlib import Path

from tuskit.persist import STATE_FILE
from tuskit.persist.protocols import ByteStore, QueueIndex, ReadLeases, ReadSnapshots

from .settings import Settings


def state_file(settings: Settings) -> Path | None:
    """The SQLite file of the upload state, or None for Redis / PostgreSQL."""
    state = settings.state
    if state in ("", "sqlite"):
        return settings.data_dir / STATE_FILE
    if state.startswith("sqlite:///"):
        return Path(state[len("sqlite:///") :])
    return None


def needs_leases(byte_store: ByteStore) -> bool:
    """Deletes must wait for readers unless a begun read keeps its bytes by itself."""
    return not (isinstance(byte_store, ReadSnapshots) and byte_store.reads_survive_delete)


async def open_queues(settings: Settings) -> QueueIndex:
    path = state_file(settings)
    if path is not None:
        from tuskit.persist.sqlite_queues import SqliteQueueIndex, queues_path

        return SqliteQueueIndex(queues_path(path))
    if settings.state.startswith(("postgresql://", "postgres://")):
        from tuskit.persist.postgres_queues import PostgresQueueIndex

        return await PostgresQueueIndex.open(settings.state, settings.pg_schema)
    from tuskit.persist.redis_queues import RedisQueueIndex

    return RedisQueueIndex.from_url(settings.state, settings.redis_prefix)


async def open_leases(settings: Settings) -> ReadLeases:
    path = state_file(settings)
    if path is not None:
        from tuskit.persist.sqlite_leases import SqliteReadLeases, leases_path

        return SqliteReadLeases(leases_path(path))
    if settings.state.startswith(("postgresql://", "postgres://")):
        from tuskit.persist.postgres_leases import PostgresReadLeases

        return await PostgresReadLeases.open(settings.state, settings.pg_schema)
    from tuskit.persist.redis_leases import RedisReadLeases

    return RedisReadLeases.from_url(settings.state, settings.redis_prefix)
