"""The composer detects capabilities, and open_local wires the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.persist import (
    FileByteStore,
    FileLocker,
    MemoryMetadataStore,
    ProcessLocker,
    SqliteMetadataStore,
    StoreComposer,
    UploadInfo,
    open_local,
)
from tuskit.persist.fsync import FsyncMode
from tuskit.persist.protocols import ChunkWriter

pytestmark = pytest.mark.anyio


class CoreOnlyBytes:
    """A ByteStore with no optional capability (e.g. an append-only log)."""

    async def create(self, info: UploadInfo) -> tuple[tuple[str, str], ...]:
        return ()

    async def open_writer(self, info: UploadInfo) -> ChunkWriter:
        raise NotImplementedError

    async def durable_size(self, info: UploadInfo) -> int:
        return 0

    async def ping(self) -> None:
        pass

    async def close(self) -> None:
        pass


class DeletingBytes(CoreOnlyBytes):
    async def delete(self, info: UploadInfo) -> None:
        pass


def test_full_file_store_offers_everything(tmp_path: Path) -> None:
    c = StoreComposer(FileByteStore(tmp_path), MemoryMetadataStore(), ProcessLocker())
    store: object = c.byte_store
    assert all(cap is store for cap in (c.reader, c.terminator, c.concatenator, c.inventory))


def test_core_only_store_offers_no_optional_capability() -> None:
    c = StoreComposer(CoreOnlyBytes(), MemoryMetadataStore(), ProcessLocker())
    assert c.reader is None and c.terminator is None and c.concatenator is None
    assert c.inventory is None


def test_termination_follows_the_terminator() -> None:
    c = StoreComposer(DeletingBytes(), MemoryMetadataStore(), ProcessLocker())
    assert c.terminator is not None
    assert c.reader is None and c.concatenator is None


async def test_open_local_builds_the_embedded_default(tmp_path: Path) -> None:
    c = open_local(tmp_path, fsync="interval:2s")
    try:
        assert isinstance(c.byte_store, FileByteStore)
        assert c.byte_store.fsync.mode is FsyncMode.INTERVAL
        assert isinstance(c.metadata, SqliteMetadataStore)
        assert c.metadata.path == tmp_path / ".state" / "uploads.sqlite3"
        assert isinstance(c.locker, FileLocker)
        assert c.reader is c.terminator is c.concatenator is c.byte_store
        info = UploadInfo(id="abc", length=3)
        info = info.replace(storage=await c.byte_store.create(info))
        await c.metadata.create(info)
        assert await c.metadata.get("abc") == info
    finally:
        await c.close()
    assert (tmp_path / ".state" / "uploads.sqlite3").is_file()


def test_open_local_rejects_a_bad_fsync_string(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync"):
        open_local(tmp_path, fsync="sometimes")
