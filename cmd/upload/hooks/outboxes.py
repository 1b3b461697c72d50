"""Open the outbox in the state store the settings name (`--state`)."""

from __future__ import annotations

from pathlib import Path

from tuskit.persist import STATE_FILE
from tuskit.persist.protocols import Outbox

from ..settings import Settings

OUTBOX_FILE = STATE_FILE.parent / "outbox.sqlite3"


async def open_outbox(settings: Settings) -> Outbox:
    """SQLite (a file beside the state file), Redis (the state's prefix) or PostgreSQL
    (the state's schema)."""
    state = settings.state
    if state in ("", "sqlite"):
        from tuskit.persist.outbox_sqlite import SqliteOutbox

        return SqliteOutbox(settings.data_dir / OUTBOX_FILE)
    if state.startswith("sqlite:///"):
        from tuskit.persist.outbox_sqlite import SqliteOutbox

        path = Path(state[len("sqlite:///") :])
        return SqliteOutbox(path.with_name(path.stem + ".outbox.sqlite3"))
    if state.startswith(("redis://", "rediss://", "unix://")):
        from tuskit.persist.outbox_redis import RedisOutbox

        return RedisOutbox.from_url(state, prefix=settings.redis_prefix)
    from tuskit.persist.outbox_postgres import PostgresOutbox

    return await PostgresOutbox.open(state, settings.pg_schema)
