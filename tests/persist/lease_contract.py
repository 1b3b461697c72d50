"""The contract every ReadLeases passes (memory, SQLite, Redis, PostgreSQL).

A store's test module subclasses `ReadLeasesContract` and provides `read_leases`.
"""

from __future__ import annotations

import itertools
import os

import pytest

from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import ReadLeases

pytestmark = pytest.mark.anyio

_ids = itertools.count()


def upload(**changes: object) -> UploadInfo:
    info = UploadInfo(id=f"rl-{os.getpid()}-{next(_ids)}", length=10, offset=10)
    return info.replace(**changes)


def ids(infos: list[UploadInfo]) -> set[str]:
    return {i.id for i in infos}


class ReadLeasesContract:
    async def test_retire_without_readers_says_delete_now(self, read_leases: ReadLeases) -> None:
        info = upload(storage=(("key", "p/x"), ("multipart_id", "m1")))
        assert await read_leases.retire(info, 100.0)
        due = [i for i in await read_leases.reclaimable(100.0, 1000) if i.id == info.id]
        assert len(due) == 1
        assert (due[0].length, due[0].offset, due[0].storage) == (10, 10, info.storage)
        await read_leases.reclaimed(info.id)
        assert info.id not in ids(await read_leases.reclaimable(100.0, 1000))

    async def test_a_live_lease_defers_until_released(self, read_leases: ReadLeases) -> None:
        info = upload()
        await read_leases.hold(info.id, "reader-a", 160.0)
        await read_leases.hold(info.id, "reader-b", 160.0)
        assert not await read_leases.retire(info, 100.0)
        assert info.id not in ids(await read_leases.reclaimable(100.0, 1000))
        await read_leases.release(info.id, "reader-a")
        assert info.id not in ids(await read_leases.reclaimable(100.0, 1000))
        await read_leases.release(info.id, "reader-b")
        assert info.id in ids(await read_leases.reclaimable(100.0, 1000))

    async def test_a_lapsed_lease_no_longer_counts(self, read_leases: ReadLeases) -> None:
        info = upload()
        await read_leases.hold(info.id, "crashed", 150.0)
        assert not await read_leases.retire(info, 100.0)
        assert info.id not in ids(await read_leases.reclaimable(149.0, 1000))
        assert info.id in ids(await read_leases.reclaimable(151.0, 1000))

    async def test_renewing_moves_the_end(self, read_leases: ReadLeases) -> None:
        info = upload()
        await read_leases.hold(info.id, "r", 150.0)
        await read_leases.hold(info.id, "r", 250.0)
        assert not await read_leases.retire(info, 200.0)

    async def test_leases_of_other_uploads_do_not_count(self, read_leases: ReadLeases) -> None:
        read, deleted = upload(), upload()
        await read_leases.hold(read.id, "r", 500.0)
        assert await read_leases.retire(deleted, 100.0)

    async def test_reclaimed_forgets_its_leases(self, read_leases: ReadLeases) -> None:
        info = upload()
        await read_leases.hold(info.id, "r", 500.0)
        assert not await read_leases.retire(info, 100.0)
        await read_leases.reclaimed(info.id)
        assert await read_leases.retire(info, 100.0)
        await read_leases.reclaimed(info.id)

    async def test_reclaimable_honours_its_limit(self, read_leases: ReadLeases) -> None:
        infos = [upload() for _ in range(3)]
        for info in infos:
            await read_leases.retire(info, 100.0)
        assert len(await read_leases.reclaimable(100.0, 2)) == 2
        for info in infos:
            await read_leases.reclaimed(info.id)
