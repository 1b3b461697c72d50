"""O_DIRECT reads of long ranges: every range (unaligned starts, partial last blocks)
gives the stored bytes, bytes still dirty in the page cache included; a read that began
survives an unlink; an early stop hands the buffer back only once no thread uses it."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tuskit.persist import directread
from tuskit.persist.directio import BLOCK, BufferPool
from tuskit.persist.filestore import FileByteStore
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.model import UploadInfo

pytestmark = pytest.mark.anyio

MIN = directread.DIRECT_READ_MIN


def store(path: Path, **options: int) -> FileByteStore:
    settings = {"direct_buffer": 4 * BLOCK, "direct_buffers": 4} | options
    return FileByteStore(path, FsyncPolicy.parse("patch"), **settings)


async def stored(s: FileByteStore, data: bytes) -> UploadInfo:
    info = UploadInfo(id=f"r{random.getrandbits(64):x}", length=len(data))
    await s.create(info)
    writer = await s.open_writer(info)
    for i in range(0, len(data), 300_001):
        await writer.write(data[i : i + 300_001])
    return info.replace(offset=await writer.commit())


async def read(s: FileByteStore, info: UploadInfo, start: int, end: int) -> bytes:
    return b"".join([c async for c in s.read(info, start, end)])


@pytest.fixture
def direct_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    real = directread.read_direct

    def spy(fd: int, buffer: object, start: int, end: int, name: str = "") -> object:
        calls.append((start, end))
        return real(fd, buffer, start, end, name)  # type: ignore[arg-type]

    monkeypatch.setattr("tuskit.persist.filestore.read_direct", spy)
    return calls


async def test_long_ranges_read_direct_and_match(
    tmp_path: Path, direct_calls: list[tuple[int, int]]
) -> None:
    s = store(tmp_path)
    data = random.Random(7).randbytes(MIN + 3 * BLOCK + 1234)  # ends mid-block
    info = await stored(s, data)
    rng = random.Random(8)
    ranges = [(0, len(data)), (1, len(data)), (BLOCK - 1, len(data) - 5), (17, MIN + 17)]
    ranges += [
        (a, a + MIN + rng.randrange(3 * BLOCK)) for a in (rng.randrange(1234) for _ in range(5))
    ]
    for start, end in ranges:
        end = min(end, len(data))
        assert await read(s, info, start, end) == data[start:end], (start, end)
    assert len(direct_calls) == len(ranges)
    assert await read(s, info, 5, 5 + MIN - 1) == data[5 : 5 + MIN - 1]
    assert len(direct_calls) == len(ranges)  # a shorter range stays buffered


async def test_bytes_still_in_the_page_cache_are_read_right(tmp_path: Path) -> None:
    s = store(tmp_path)
    info = await stored(s, b"")
    data = os.urandom(MIN + 5000)
    with s.path(info.id).open("wb") as f:  # buffered, never synced: dirty pages
        f.write(data)
    info = info.replace(length=len(data), offset=len(data))
    assert await read(s, info, 3, len(data)) == data[3:]


async def test_a_begun_direct_read_survives_an_unlink(tmp_path: Path) -> None:
    s = store(tmp_path)
    data = os.urandom(MIN + 100_000)
    info = await stored(s, data)
    chunks = s.read(info, 0, len(data))
    got = [await chunks.__anext__()]
    os.unlink(s.path(info.id))
    got += [c async for c in chunks]
    assert b"".join(got) == data


async def test_an_early_stop_gives_the_buffer_back(tmp_path: Path) -> None:
    s = store(tmp_path, direct_buffers=1)
    data = os.urandom(MIN * 2)
    info = await stored(s, data)
    pool = s.direct_pool
    assert isinstance(pool, BufferPool)
    for _ in range(3):
        chunks = s.read(info, 0, len(data))
        await chunks.__anext__()  # the next chunk is being read ahead
        await chunks.aclose()  # type: ignore[attr-defined]
        taken = pool.take(1)
        assert len(taken) == 1  # back in the pool, no thread writing into it
        pool.give_back(taken)
    assert await read(s, info, 0, len(data)) == data


async def test_no_pool_buffer_means_a_buffered_read(
    tmp_path: Path, direct_calls: list[tuple[int, int]]
) -> None:
    s = store(tmp_path, direct_buffers=1)
    data = os.urandom(MIN + 1)
    info = await stored(s, data)
    pool = s.direct_pool
    assert pool is not None
    held = pool.take(1)
    assert await read(s, info, 0, len(data)) == data
    assert direct_calls == []
    pool.give_back(held)
