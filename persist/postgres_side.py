"""A component's own tables beside the upload state in PostgreSQL (queues, read leases):
created on open, idempotently, under a transaction-scoped advisory lock so instances
starting together create them once, with the component's own version row."""

from __future__ import annotations

import asyncpg

from .postgres_store import quote_schema


async def create_tables(
    pool: asyncpg.Pool, schema: str, ddl: str, version_table: str, version: int, lock: int
) -> None:
    """Run `ddl` (`{s}` is the quoted schema) and record `version` in `version_table`;
    refuse a schema whose recorded version is newer."""
    s = quote_schema(schema)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        await conn.execute(ddl.format(s=s))
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.{version_table} (version integer NOT NULL)"
        )
        found = await conn.fetchval(f"SELECT version FROM {s}.{version_table}")
        if found is None:
            await conn.execute(f"INSERT INTO {s}.{version_table} (version) VALUES ($1)", version)
        elif int(found) > version:
            raise RuntimeError(
                f"{version_table} in schema {schema} is at version {found}, newer than this"
                f" code ({version})"
            )


async def open_pool(
    dsn: str, schema: str, ddl: str, version_table: str, version: int, lock: int, max_size: int
) -> asyncpg.Pool:
    """A small pool with the component's tables in place."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
    try:
        await create_tables(pool, schema, ddl, version_table, version, lock)
    except BaseException:
        await pool.close()
        raise
    return pool
