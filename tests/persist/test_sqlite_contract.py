"""SqliteMetadataStore passes the metadata contract, and keeps state across reopen."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.sqlite import SCHEMA_VERSION, SqliteMetadataStore

from .persist_contract import MetadataStoreContract, record

pytestmark = pytest.mark.anyio


@pytest.fixture
async def metadata_store(tmp_path: Path) -> AsyncIterator[SqliteMetadataStore]:
    store = SqliteMetadataStore(tmp_path / "state" / "uploads.sqlite3")
    yield store
    await store.close()


class TestSqliteMetadataStore(MetadataStoreContract):
    async def test_state_survives_reopen(self, tmp_path: Path) -> None:
        path = tmp_path / "u.sqlite3"
        store = SqliteMetadataStore(path)
        active, dead = record(offset=7, expires_at=5.0), record()
        final = record(length=None, partials=(active.id,))
        for r in (active, dead, final):
            await store.create(r)
        await store.mark(dead.id, UploadState.EXPIRED, 9.0)
        await store.close()

        again = SqliteMetadataStore(path)
        assert await again.get(active.id) == active
        got = await again.get(dead.id)
        assert got is not None and got.state is UploadState.EXPIRED
        assert [i.id for i in await again.finals_waiting_on(active.id)] == [final.id]
        assert [i.id for i in await again.expired(10.0, 5)] == [active.id]
        await again.close()

    async def test_wal_mode_and_schema_version(self, tmp_path: Path) -> None:
        path = tmp_path / "u.sqlite3"
        store = SqliteMetadataStore(path)
        assert store.schema_version == SCHEMA_VERSION
        await store.close()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.close()

    async def test_refuses_newer_schema(self, tmp_path: Path) -> None:
        path = tmp_path / "u.sqlite3"
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.close()
        with pytest.raises(RuntimeError, match="newer"):
            SqliteMetadataStore(path)

    async def test_queries_use_indexes(self, metadata_store: SqliteMetadataStore) -> None:
        db = metadata_store._db
        plans = {
            "expired": "SELECT id FROM uploads WHERE state = 'active' AND expires_at IS NOT NULL"
            " AND expires_at < 1 ORDER BY expires_at",
            "finals": "SELECT final_id FROM concat_parts WHERE partial_id = 'x'",
            "purge": "SELECT id FROM uploads WHERE state != 'active' AND updated_at < 1",
        }
        for name, sql in plans.items():
            plan = " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN" not in plan.replace("COVERING INDEX", "") or "INDEX" in plan, (name, plan)
            assert "INDEX" in plan or "PRIMARY KEY" in plan, (name, plan)


async def test_cached_reads_never_miss_another_connections_commit(tmp_path: Path) -> None:
    """Two servers (or workers) share one file: a record one of them cached must not hide
    what the other committed since (the `data_version` check), nor its own writes."""
    a = SqliteMetadataStore(tmp_path / "shared.sqlite3")
    b = SqliteMetadataStore(tmp_path / "shared.sqlite3")
    try:
        info = record(length=100)
        await a.create(info)
        assert (await a.get(info.id)) == info  # now cached in a
        assert (await a.get(info.id)) is (await a.get(info.id))  # served from the cache
        await b.save(info.replace(offset=40))
        got = await a.get(info.id)
        assert got is not None and got.offset == 40
        await a.save(info.replace(offset=70))
        got = await a.get(info.id)
        assert got is not None and got.offset == 70
        await b.mark(info.id, UploadState.TERMINATED, 5.0)
        got = await a.get(info.id)
        assert got is not None and got.state is UploadState.TERMINATED
    finally:
        await a.close()
        await b.close()


async def test_the_record_cache_is_bounded_by_bytes(tmp_path: Path) -> None:
    """Issue 15: 300 uploads with 1 MiB of metadata took RSS from 48 to 360 MB through a
    cache bounded only by count. Now large records count by size (and huge ones are not
    kept), so the cache stays within its byte budget whatever the records carry."""
    from tuskit.persist.sqlite import _CACHE_BYTES

    store = SqliteMetadataStore(tmp_path / "s.sqlite3")
    try:
        for i in range(300):
            meta = (("blob", "x" * (1 << 20) if i % 2 else "y" * 100_000),)
            info = UploadInfo(id=f"u{i}", length=1, metadata=meta)
            await store.create(info)
            assert await store.get(info.id) == info
            assert store._cache.size <= _CACHE_BYTES
    finally:
        await store.close()
