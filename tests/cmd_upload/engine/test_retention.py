"""A delete during a running read lets the read finish with every byte, on any byte
store: files keep an open descriptor readable after unlink; a store without that gets
its delete deferred by read leases until the last reader is done."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import FileByteStore, MemoryMetadataStore, ProcessLocker, StoreComposer
from tuskit.persist.leases import MemoryReadLeases
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import StoreError
from tuskit.upload.engine import Engine, EngineOptions
from tuskit.upload.engine.errors import Gone, NotFound

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ForgetfulStore(FileByteStore):
    """Like object storage without a promise for reads in flight: every chunk is read by
    name, so a delete breaks a running read."""

    reads_survive_delete = False

    async def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        pos = start
        while pos < end:
            try:
                with self.path(info.id).open("rb") as f:
                    f.seek(pos)
                    chunk = f.read(min(CHUNK, end - pos))
            except FileNotFoundError:
                raise StoreError(f"{info.id} vanished at {pos}") from None
            pos += len(chunk)
            yield chunk
            await asyncio.sleep(0)


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


def make_engine(tmp_path: Path, store: FileByteStore, leases: bool) -> Engine:
    stores = StoreComposer(
        store,
        MemoryMetadataStore(),
        ProcessLocker(),
        leases=MemoryReadLeases() if leases else None,
    )
    return Engine(stores, EngineOptions())


async def delete_mid_read(engine: Engine, data: bytes) -> bytes:
    info = await engine.create(length=None, body=body(data), whole=True)
    chunks = await engine.open_read(info, 0, info.offset)
    got = [await chunks.__anext__()]
    await engine.terminate(info.id)
    async for chunk in chunks:
        got.append(chunk)
    return b"".join(got)


async def test_files_keep_serving_a_read_after_unlink(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, FileByteStore(tmp_path), leases=False)
    assert not engine.retention.defers  # nothing to wait for on local files
    data = os.urandom(5 * 1024 * 1024)
    assert await delete_mid_read(engine, data) == data
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


async def test_without_leases_a_forgetful_store_breaks_the_read(tmp_path: Path) -> None:
    """The failure the leases prevent (so the next test shows something real)."""
    engine = make_engine(tmp_path, ForgetfulStore(tmp_path), leases=False)
    with pytest.raises(StoreError, match="vanished"):
        await delete_mid_read(engine, os.urandom(1024 * 1024))


async def test_leases_defer_the_delete_until_the_read_is_done(tmp_path: Path) -> None:
    store = ForgetfulStore(tmp_path)
    engine = make_engine(tmp_path, store, leases=True)
    assert engine.retention.defers
    data = os.urandom(1024 * 1024)
    info = await engine.create(length=None, body=body(data), whole=True)
    chunks = await engine.open_read(info, 0, info.offset)
    got = [await chunks.__anext__()]
    await engine.terminate(info.id)
    assert store.path(info.id).exists()  # deferred: a reader holds a lease
    with pytest.raises(Gone):
        await engine.load(info.id)  # but the upload is gone for everyone else
    assert await engine.retention.reclaim() == 0
    async for chunk in chunks:
        got.append(chunk)
    assert b"".join(got) == data
    assert await engine.retention.reclaim() == 1  # the sweep's chore
    assert not store.path(info.id).exists()


async def test_without_readers_the_delete_is_immediate(tmp_path: Path) -> None:
    store = ForgetfulStore(tmp_path)
    engine = make_engine(tmp_path, store, leases=True)
    info = await engine.create(length=None, body=body(b"abc"), whole=True)
    chunks = await engine.open_read(info, 0, 3)
    assert b"".join([c async for c in chunks]) == b"abc"
    await engine.terminate(info.id)
    assert not store.path(info.id).exists()
    assert await engine.retention.reclaim() == 0


async def test_a_read_starting_after_the_delete_is_refused(tmp_path: Path) -> None:
    for leases in (False, True):
        engine = make_engine(tmp_path, ForgetfulStore(tmp_path), leases=leases)
        info = await engine.create(length=None, body=body(b"abc"), whole=True)
        await engine.terminate(info.id)
        with pytest.raises((Gone, NotFound)):
            await engine.open_read(info, 0, 3)


async def test_a_reader_that_stops_early_releases_its_lease(tmp_path: Path) -> None:
    store = ForgetfulStore(tmp_path)
    engine = make_engine(tmp_path, store, leases=True)
    info = await engine.create(length=None, body=body(os.urandom(CHUNK * 4)), whole=True)
    chunks = await engine.open_read(info, 0, info.offset)
    await chunks.__anext__()
    await chunks.aclose()  # type: ignore[attr-defined]
    await engine.terminate(info.id)
    assert not store.path(info.id).exists()
