"""The queue index and read leases in memory and in SQLite pass their contracts; SQLite's
survive a reopen and are shared by two connections (two processes on one data dir)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist.leases import MemoryReadLeases
from tuskit.persist.queues import MemoryQueueIndex
from tuskit.persist.sqlite_leases import SqliteReadLeases, leases_path
from tuskit.persist.sqlite_queues import SqliteQueueIndex, queues_path

from .lease_contract import ReadLeasesContract, upload
from .queue_contract import QueueIndexContract, fill, name

pytestmark = pytest.mark.anyio


class TestMemoryQueueIndex(QueueIndexContract):
    @pytest.fixture
    def queue_index(self) -> MemoryQueueIndex:
        return MemoryQueueIndex()

    @pytest.fixture
    def other_index(self, queue_index: MemoryQueueIndex) -> MemoryQueueIndex:
        return queue_index  # one process: the same object


class TestSqliteQueueIndex(QueueIndexContract):
    @pytest.fixture
    async def queue_index(self, tmp_path: Path) -> AsyncIterator[SqliteQueueIndex]:
        index = SqliteQueueIndex(queues_path(tmp_path / "uploads.sqlite3"))
        yield index
        await index.close()

    @pytest.fixture
    async def other_index(self, queue_index: SqliteQueueIndex) -> AsyncIterator[SqliteQueueIndex]:
        other = SqliteQueueIndex(queue_index.path)
        yield other
        await other.close()

    def test_the_file_sits_beside_the_upload_state(self, tmp_path: Path) -> None:
        state = tmp_path / ".state" / "uploads.sqlite3"
        assert queues_path(state) == tmp_path / ".state" / "uploads.queues.sqlite3"
        assert leases_path(state) == tmp_path / ".state" / "uploads.reads.sqlite3"

    async def test_queues_survive_a_reopen(self, tmp_path: Path) -> None:
        path = tmp_path / "q.sqlite3"
        index = SqliteQueueIndex(path)
        q = name()
        ids = await fill(index, q, 3)
        await index.remove(ids[0], 5.0)
        await index.close()
        again = SqliteQueueIndex(path)
        try:
            assert [e.upload_id for e in await again.after(q, 0, 10)] == ids[1:]
            assert (await again.append(q, name("s"), 1, "x/y", 1.0)).seq == 4
            assert await again.counts() == [(q, 3)]
        finally:
            await again.close()

    async def test_a_newer_schema_is_refused(self, tmp_path: Path) -> None:
        import sqlite3

        path = tmp_path / "q.sqlite3"
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 99")
        db.close()
        with pytest.raises(RuntimeError, match="newer"):
            SqliteQueueIndex(path)


class TestMemoryReadLeases(ReadLeasesContract):
    @pytest.fixture
    def read_leases(self) -> MemoryReadLeases:
        return MemoryReadLeases()


class TestSqliteReadLeases(ReadLeasesContract):
    @pytest.fixture
    async def read_leases(self, tmp_path: Path) -> AsyncIterator[SqliteReadLeases]:
        leases = SqliteReadLeases(tmp_path / "r.sqlite3")
        yield leases
        await leases.close()

    async def test_a_lease_taken_by_another_process_defers_the_delete(self, tmp_path: Path) -> None:
        path = tmp_path / "shared.sqlite3"
        reader, deleter = SqliteReadLeases(path), SqliteReadLeases(path)
        try:
            info = upload()
            await reader.hold(info.id, "r", 500.0)
            assert not await deleter.retire(info, 100.0)
            await reader.release(info.id, "r")
            assert info.id in {i.id for i in await deleter.reclaimable(100.0, 10)}
        finally:
            await reader.close()
            await deleter.close()
