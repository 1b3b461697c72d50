"""O_DIRECT appends: unaligned starts, partial last blocks, failures and the fallbacks."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
from pathlib import Path

import pytest

from tuskit.persist.directio import BLOCK, BufferPool
from tuskit.persist.filestore import FileByteStore
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import StoreError

pytestmark = pytest.mark.anyio


def small_store(path: Path, **options: int) -> FileByteStore:
    """Buffers of a few blocks, so every test crosses many block and buffer edges."""
    settings = {"buffer_size": 3000, "direct_buffer": 2 * BLOCK, "direct_buffers": 4} | options
    return FileByteStore(path, FsyncPolicy.parse("patch"), **settings)


async def append(store: FileByteStore, info: UploadInfo, chunks: list[bytes]) -> UploadInfo:
    writer = await store.open_writer(info)
    for chunk in chunks:
        await writer.write(chunk)
    return info.replace(offset=await writer.commit())


async def test_random_appends_and_discards_match_a_model(tmp_path: Path) -> None:
    """Appends of random sizes start at random (mostly unaligned) offsets; every byte the
    file holds is what was committed, and a discard leaves no trace."""
    rng = random.Random(20261122)
    store = small_store(tmp_path)
    info = UploadInfo(id="model", length=None)
    await store.create(info)
    model = bytearray()
    for _ in range(60):
        chunks = [rng.randbytes(rng.choice([1, 17, 4095, 4096, 4097, 9000])) for _ in range(5)]
        if rng.random() < 0.2:
            writer = await store.open_writer(info)
            for chunk in chunks:
                await writer.write(chunk)
            await writer.discard()
        else:
            info = await append(store, info, chunks)
            model += b"".join(chunks)
        assert info.offset == len(model)
        assert (tmp_path / "model").read_bytes() == bytes(model)
    assert store.direct_pool is not None  # O_DIRECT really ran (not the tmpfs fallback)


async def test_long_bodies_go_direct_and_return_their_buffers(tmp_path: Path) -> None:
    store = small_store(tmp_path, direct_buffers=2)
    pool = store.direct_pool
    assert pool is not None
    first = UploadInfo(id="first", length=None)
    second = UploadInfo(id="second", length=None)
    a = await store.open_writer(first)
    b = await store.open_writer(second)
    data = os.urandom(10 * BLOCK + 123)
    await a.write(data)  # takes both buffers
    await b.write(data)  # finds the pool empty: stays buffered, still correct
    assert pool.take(1) == []
    assert await a.commit() == await b.commit() == len(data)
    assert len(pool.take(2)) == 2  # back after the commit
    assert (tmp_path / "first").read_bytes() == (tmp_path / "second").read_bytes() == data


async def test_a_failed_direct_write_fails_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under a background write must never end in a commit that counts bytes
    that are not there: the error surfaces, and discard cuts the file back."""
    store = small_store(tmp_path)
    info = await append(store, UploadInfo(id="full", length=None), [b"kept"])
    real_pwrite = os.pwrite
    calls = 0

    def pwrite(fd: int, data: memoryview, pos: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, pos)

    monkeypatch.setattr("os.pwrite", pwrite)
    writer = await store.open_writer(info)
    with pytest.raises((OSError, StoreError)):
        for _ in range(20):
            await writer.write(os.urandom(BLOCK))
        await writer.commit()
    monkeypatch.setattr("os.pwrite", real_pwrite)
    with contextlib.suppress(StoreError):  # already closed if the commit raised
        await writer.discard()
    info = await append(store, info, [b"+"])  # the next writer cuts whatever is left
    assert (tmp_path / "full").read_bytes() == b"kept+"
    assert calls >= 2


async def test_a_stopped_body_keeps_every_byte_that_arrived(tmp_path: Path) -> None:
    """A release request cancels the body's task while a block write is in flight; the
    commit that follows waits for it and keeps all accepted bytes."""
    store = small_store(tmp_path, direct_buffer=64 * BLOCK)
    info = await append(store, UploadInfo(id="stop", length=None), [b"head"])
    writer = await store.open_writer(info)
    chunk = os.urandom(BLOCK + 1)

    async def pump() -> None:
        for _ in range(10_000):
            await writer.write(chunk)

    task = asyncio.ensure_future(pump())
    while writer.written < 200 * BLOCK:
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    written = writer.written  # the stop may land inside a chunk: its copied part counts
    assert await writer.commit() == 4 + written
    sent = b"head" + chunk * (written // len(chunk) + 1)
    assert (tmp_path / "stop").read_bytes() == sent[: 4 + written]


async def test_filesystems_without_o_direct_stay_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where open(O_DIRECT) fails with EINVAL (older tmpfs, some network filesystems) the
    store stays buffered from then on. The refusal is simulated: tmpfs here accepts it."""
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr("os.open", refusing_open)
    store = small_store(tmp_path)
    data = os.urandom(5 * BLOCK + 7)
    info = await append(store, UploadInfo(id="plain", length=None), [data])
    info = await append(store, info, [data])
    assert store.direct_pool is None  # refused once, then never tried again
    assert (tmp_path / "plain").read_bytes() == data + data


def test_buffer_sizes_must_be_whole_blocks() -> None:
    with pytest.raises(ValueError):
        BufferPool(size=BLOCK + 1)
    with pytest.raises(ValueError):
        BufferPool(count=-1)


async def test_a_stop_during_the_head_read_leaves_acknowledged_bytes_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 1. A long body that resumes at an unaligned offset first reads back
    the head of its first block. A stop arriving during that read must not let the commit
    write a pool buffer that was never loaded over bytes already acknowledged (here the
    buffer last held upload A's bytes, which would have landed in upload B)."""
    store = small_store(tmp_path, direct_buffers=2)
    a_bytes = bytes([0xAA]) * (6 * BLOCK)
    await append(store, UploadInfo(id="a", length=None), [a_bytes])  # warms the pool with A
    b_head = bytes([0xBB]) * 1000
    info = await append(store, UploadInfo(id="b", length=None), [b_head])
    real_pread = os.pread

    def slow_pread(fd: int, length: int, pos: int) -> bytes:
        import time

        time.sleep(0.3)
        return real_pread(fd, length, pos)

    monkeypatch.setattr("os.pread", slow_pread)
    writer = await store.open_writer(info)
    body = bytes([0xCC]) * (4 * BLOCK)

    async def pump() -> None:
        await writer.write(body)  # long enough to go direct: reads B's head block first

    task = asyncio.ensure_future(pump())
    await asyncio.sleep(0.1)  # inside the slow head read
    task.cancel()  # what a release request or SIGTERM does to the body's task
    with contextlib.suppress(asyncio.CancelledError):
        await task
    offset = await writer.commit()
    monkeypatch.setattr("os.pread", real_pread)
    stored = (tmp_path / "b").read_bytes()
    assert stored[:1000] == b_head  # acknowledged bytes untouched
    assert len(stored) == offset
    assert stored[1000:] == body[: offset - 1000]  # whatever was kept is the body's prefix
    # The pool is whole again and the next resumed body lands where it should.
    info = await append(store, info.replace(offset=offset), [body])
    assert (tmp_path / "b").read_bytes() == stored + body


async def test_a_checkpoint_makes_the_written_prefix_durable_and_discard_keeps_it(
    tmp_path: Path,
) -> None:
    """Checkpointing (issue 15, item 3): mid-body, the bytes handed to direct writes so far
    are synced and become the writer's new floor; a discard afterwards cuts back only to
    there, and the commit still takes everything."""
    store = small_store(tmp_path)
    info = await append(store, UploadInfo(id="cp", length=None), [b"h" * 1000])
    writer = await store.open_writer(info)
    first = os.urandom(9 * BLOCK + 5)
    await writer.write(first)
    end = await writer.checkpoint()
    assert 1000 < end <= 1000 + len(first) and end % BLOCK == 0  # direct: whole buffers
    await writer.write(os.urandom(3 * BLOCK))
    await writer.discard()
    stored = (tmp_path / "cp").read_bytes()
    assert stored == (b"h" * 1000 + first)[:end]
    buffered = small_store(tmp_path / "b", direct_buffers=0)
    info = await append(buffered, UploadInfo(id="cp", length=None), [b"x" * 10])
    writer = await buffered.open_writer(info)
    await writer.write(b"y" * 5000)
    assert await writer.checkpoint() == 5010  # buffered: everything written
    await writer.write(b"z")
    assert await writer.commit() == 5011
