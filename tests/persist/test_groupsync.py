"""Group sync: short bodies are written on the event loop and made durable by one
`syncfs` per batch; every commit waits for a sync that started after its bytes."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import threading
import time
from pathlib import Path

import pytest

from tuskit.persist import groupsync
from tuskit.persist.filestore import FileByteStore
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.groupsync import GroupSyncer
from tuskit.persist.model import UploadInfo

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not GroupSyncer.available(), reason="syncfs is Linux-only"),
]


async def upload(store: FileByteStore, upload_id: str, data: bytes) -> int:
    info = UploadInfo(id=upload_id, length=len(data))
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(data)
    return await writer.commit()


async def test_a_short_body_needs_no_thread_hop_and_one_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    real_to_thread = asyncio.to_thread

    def to_thread(fn, *args):  # type: ignore[no-untyped-def]
        hops.append(fn.__name__)
        return real_to_thread(fn, *args)

    monkeypatch.setattr("asyncio.to_thread", to_thread)
    store = FileByteStore(tmp_path, FsyncPolicy.parse("patch"))
    assert store.group_syncer is not None
    assert await upload(store, "a", b"x" * 65536) == 65536
    assert hops == []
    assert store.group_syncer.syncs == 1
    assert (tmp_path / "a").read_bytes() == b"x" * 65536


async def test_never_and_interval_policies(tmp_path: Path) -> None:
    never = FileByteStore(tmp_path / "never", FsyncPolicy.parse("never"))
    await upload(never, "a", b"abc")
    assert never.group_syncer is not None and never.group_syncer.syncs == 0
    interval = FileByteStore(tmp_path / "interval", FsyncPolicy.parse("interval:60s"))
    info = UploadInfo(id="b", length=None)
    await interval.create(info)
    for _ in range(3):
        writer = await interval.open_writer(info)
        await writer.write(b"abc")
        info = info.replace(offset=await writer.commit())
    assert info.offset == 9
    assert interval.group_syncer is not None and interval.group_syncer.syncs == 1


async def test_every_commit_waits_for_a_sync_that_started_after_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many concurrent commits share few syncs, and none returns before one that began
    after its write (a sync that began before could miss its pages)."""
    spans: list[tuple[float, float]] = []
    real = groupsync._SYNCFS
    assert real is not None

    def slow_syncfs(fd: int) -> int:
        start = time.monotonic()
        time.sleep(0.01)
        result = real(fd)
        spans.append((start, time.monotonic()))
        return result

    monkeypatch.setattr(groupsync, "_SYNCFS", slow_syncfs)
    store = FileByteStore(tmp_path, FsyncPolicy.parse("patch"))
    calls: list[tuple[float, float]] = []

    async def one(i: int) -> None:
        info = UploadInfo(id=f"u{i}", length=3)
        await store.create(info)
        writer = await store.open_writer(info)
        await writer.write(b"abc")
        begun = time.monotonic()  # commit writes at once, on the loop, then waits
        assert await writer.commit() == 3
        calls.append((begun, time.monotonic()))
        await asyncio.sleep(0.001 * (i % 7))

    await asyncio.gather(*(one(i) for i in range(200)))
    assert store.group_syncer is not None
    assert 1 <= store.group_syncer.syncs < 100  # shared
    for begun, returned in calls:
        assert any(begun <= s and e <= returned for s, e in spans)


async def test_a_failed_sync_fails_its_commits_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = groupsync._SYNCFS
    assert real is not None
    failures = [True]

    def flaky(fd: int) -> int:
        if failures and failures.pop():
            ctypes.set_errno(errno.EIO)
            return -1
        return real(fd)

    monkeypatch.setattr(groupsync, "_SYNCFS", flaky)
    store = FileByteStore(tmp_path, FsyncPolicy.parse("patch"))
    with pytest.raises(OSError) as caught:
        await upload(store, "a", b"abc")
    assert caught.value.errno == errno.EIO  # the service answers 500, records nothing
    assert await upload(store, "b", b"def") == 3


async def test_a_cancelled_commit_still_waits_for_its_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown may cancel a request in its commit: it returns only once the sync ran."""
    real = groupsync._SYNCFS
    assert real is not None
    release = threading.Event()

    def held(fd: int) -> int:
        release.wait(5)
        return real(fd)

    monkeypatch.setattr(groupsync, "_SYNCFS", held)
    store = FileByteStore(tmp_path, FsyncPolicy.parse("patch"))
    info = UploadInfo(id="slow", length=None)
    await store.create(info)
    writer = await store.open_writer(info)
    await writer.write(b"abc")
    task = asyncio.ensure_future(writer.commit())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # waits for the sync, not cancelled under it
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.group_syncer is not None and store.group_syncer.syncs == 1
    assert os.path.getsize(tmp_path / "slow") == 3
