"""FileByteStore specifics: buffering without thread hops, fsync calls, path safety.

Tests about per-file syncs turn the group sync off (`group_sync=False`, the path used
where `syncfs` is missing); tests/persist/test_groupsync.py covers the group path."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tuskit.persist import filestore
from tuskit.persist.filestore import FileByteStore, FileChunkWriter
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import BytesMissing, StoreError, UploadNotFound

pytestmark = pytest.mark.anyio


class Counter:
    """Counts thread hops and fsyncs made by the store module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hops: list[str] = []
        self.fsyncs = 0
        real_to_thread = asyncio.to_thread
        real_fsync = os.fsync
        real_fdatasync = os.fdatasync

        def to_thread(fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
            self.hops.append(getattr(fn, "__name__", repr(fn)))
            return real_to_thread(fn, *args)

        def fsync(fd: int) -> None:
            self.fsyncs += 1
            real_fsync(fd)

        def fdatasync(fd: int) -> None:
            self.fsyncs += 1
            real_fdatasync(fd)

        monkeypatch.setattr("asyncio.to_thread", to_thread)
        monkeypatch.setattr("os.fsync", fsync)
        monkeypatch.setattr("os.fdatasync", fdatasync)


async def test_small_chunks_make_no_thread_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileByteStore(
        tmp_path,
        FsyncPolicy.parse("patch"),
        buffer_size=1 << 20,
        direct_buffers=0,
        group_sync=False,
    )
    info = UploadInfo(id="u1", length=None)
    await store.create(info)
    count = Counter(monkeypatch)
    writer = await store.open_writer(info)
    assert count.hops == []  # opening is a few syscalls on the loop
    for _ in range(3000):  # ~3 MiB in 1 KiB chunks: crosses the buffer twice
        await writer.write(b"x" * 1024)
    assert count.hops == []
    assert os.path.getsize(tmp_path / "u1") >= 2 << 20  # flushed on the loop, no hop
    assert await writer.commit() == 3000 * 1024
    assert count.hops == ["_commit"]  # one hop: the rest of the data, its sync, the directory
    assert count.fsyncs == 2  # first commit of the upload: file and its directory
    writer = await store.open_writer(info.replace(offset=3000 * 1024))
    await writer.write(b"y")
    await writer.commit()
    assert count.fsyncs == 3  # later commits sync the data only


async def test_never_policy_does_not_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileByteStore(tmp_path, FsyncPolicy.parse("never"))
    info = UploadInfo(id="u1", length=None)
    count = Counter(monkeypatch)
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(b"abc")
    await writer.commit()
    assert count.fsyncs == 0


async def test_interval_policy_fsyncs_at_most_once_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileByteStore(tmp_path, FsyncPolicy.parse("interval:60s"), group_sync=False)
    info = UploadInfo(id="u1", length=None)
    await store.create(info)
    count = Counter(monkeypatch)
    for _ in range(3):
        writer = await store.open_writer(info)
        await writer.write(b"abc")
        info = info.replace(offset=await writer.commit())
    assert info.offset == 9
    assert count.fsyncs == 2  # one sync in 60 s: the data and, first time, the directory


async def test_files_live_directly_in_data_dir(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path / "d")
    info = UploadInfo(id="Abc_-9", length=1)
    assert await store.create(info) == ()
    assert not (tmp_path / "d" / "Abc_-9").exists()  # the file comes with the first bytes
    writer = await store.open_writer(info)
    await writer.write(b"x")
    await writer.commit()
    assert (tmp_path / "d" / "Abc_-9").is_file()
    assert [b async for b in store.stored(10)] == [["Abc_-9"]]
    (tmp_path / "d" / ".state").mkdir()
    (tmp_path / "d" / "not.an.id").write_bytes(b"")
    assert [b async for b in store.stored(10)] == [["Abc_-9"]]
    assert await store.last_modified("Abc_-9") == (tmp_path / "d" / "Abc_-9").stat().st_mtime
    assert await store.last_modified("gone") is None


async def test_inventory_lists_in_batches(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    names = sorted(f"u{i:03d}" for i in range(25))
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()  # not a regular file: skipped
    batches = [b async for b in store.stored(10)]
    assert [len(b) for b in batches] == [10, 10, 5]
    assert sorted(n for b in batches for n in b) == names


async def test_durable_sizes_in_one_go(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    (tmp_path / "a").write_bytes(b"12345")
    infos = [UploadInfo(id="a", length=9), UploadInfo(id="missing", length=9)]
    assert await store.durable_sizes(infos) == [5, 0]
    assert await store.durable_size(infos[0]) == 5


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/b", "a\x00b", "x" * 129])
async def test_unsafe_ids_never_reach_a_path(tmp_path: Path, bad: str) -> None:
    store = FileByteStore(tmp_path)
    info = UploadInfo(id=bad, length=1)
    for call in (store.delete(info), store.concatenate(info, [])):
        with pytest.raises(ValueError):
            await call
    with pytest.raises(ValueError):
        async for _ in store.read(info, 0, 1):
            pass
    assert list(tmp_path.iterdir()) == []


async def test_open_writer_refuses_a_file_shorter_than_the_record(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    info = UploadInfo(id="u", length=10)
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(b"ab")
    await writer.commit()
    # BytesMissing says how many bytes survived, so the engine can lower the offset (it
    # was a bare StoreError, which answered 500 on every retry).
    with pytest.raises(BytesMissing, match="holds 2 bytes") as short:
        await store.open_writer(info.replace(offset=5))
    assert short.value.durable == 2
    (tmp_path / "u").unlink()
    with pytest.raises(BytesMissing, match="missing") as gone:
        await store.open_writer(info.replace(offset=5))
    assert gone.value.durable == 0
    writer = await store.open_writer(info)  # offset 0: a lost empty file is recreated
    await writer.write(b"ok")
    assert await writer.commit() == 2


async def test_read_errors(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    info = UploadInfo(id="u", length=10, offset=3)
    with pytest.raises(UploadNotFound):
        async for _ in store.read(info, 0, 3):
            pass
    (tmp_path / "u").write_bytes(b"")
    with pytest.raises(StoreError, match="ends at 0"):
        async for _ in store.read(info, 0, 3):
            pass
    with pytest.raises(ValueError):
        async for _ in store.read(info, 2, 1):
            pass


async def test_read_streams_in_chunks(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    data = os.urandom(filestore.READ_CHUNK * 2 + 5)
    info = UploadInfo(id="u", length=len(data))
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(data)
    info = info.replace(offset=await writer.commit())
    sizes = [len(c) async for c in store.read(info, 0, len(data))]
    assert sizes == [filestore.READ_CHUNK, filestore.READ_CHUNK, 5]


async def test_dropped_writer_does_not_leak_its_descriptor(tmp_path: Path) -> None:
    store = FileByteStore(tmp_path)
    info = UploadInfo(id="u", length=None)
    await store.create(info)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        writer = await store.open_writer(info)
        await writer.write(b"x")
        del writer
    assert len(os.listdir("/proc/self/fd")) <= before + 1


async def test_long_bodies_sync_behind_and_survive_a_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows are synced (and dropped from the cache) while the body streams; a task
    cancelled while waiting for one (a release request) still commits every byte."""
    monkeypatch.setattr("tuskit.persist.filestore.SYNC_WINDOW", 1 << 20)
    store = FileByteStore(
        tmp_path, FsyncPolicy.parse("patch"), buffer_size=256 << 10, direct_buffers=0
    )
    info = UploadInfo(id="long", length=None)
    await store.create(info)
    count = Counter(monkeypatch)
    writer = await store.open_writer(info)
    chunk = os.urandom(64 << 10)

    async def pump() -> None:
        for _ in range(10_000):
            await writer.write(chunk)

    task = asyncio.ensure_future(pump())
    while writer.written < (6 << 20):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert count.hops.count("_sync_range") >= 3  # synced behind, before the commit
    written = writer.written
    assert await writer.commit() == written
    assert (tmp_path / "long").read_bytes() == chunk * (written // len(chunk))


async def test_a_cancelled_commit_waits_for_its_thread_before_closing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown may cancel a request in its commit: the descriptor the sync thread uses
    must stay open until that thread is done."""
    store = FileByteStore(tmp_path, FsyncPolicy.parse("patch"), group_sync=False)
    info = UploadInfo(id="slow", length=None)
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(b"abc")
    real = FileChunkWriter._sync_range
    used_fd: list[int | None] = []

    def slow_sync(self: FileChunkWriter, start: int, end: int) -> None:
        time.sleep(0.2)
        used_fd.append(self._fd)
        real(self, start, end)

    monkeypatch.setattr(FileChunkWriter, "_sync_range", slow_sync)
    task = asyncio.ensure_future(writer.commit())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert used_fd and used_fd[0] is not None  # still open while the thread synced
    assert (tmp_path / "slow").read_bytes() == b"abc"
