"""Appends that complete the upload, announce it before reading, record checkpoints while
a long body streams, and whole-upload digests read back from the store (engine only)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import open_local
from tuskit.persist.model import UploadInfo
from tuskit.upload.engine import Engine, EngineOptions, EventType, UploadEvent
from tuskit.upload.engine.checkpoints import Progress
from tuskit.upload.engine.errors import InvalidRequest, OffsetMismatch
from tuskit.upload.engine.wholedigest import digest_upload

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    stores = open_local(tmp_path, fsync="never")
    yield Engine(stores, EngineOptions(stall_timeout=5.0))
    await stores.close()


async def body(*chunks: bytes, pause: float = 0.0) -> AsyncIterator[bytes]:
    for chunk in chunks:
        if pause:
            await asyncio.sleep(pause)
        yield chunk


async def test_a_completing_body_fixes_the_length_to_the_offset(engine: Engine) -> None:
    info = await engine.create(length=None)
    done = await engine.append(info.id, 0, body(b"abc", b"de"), completes=True)
    assert (done.offset, done.length, done.is_complete) == (5, 5, True)
    assert (await engine.status(info.id)).length == 5


async def test_a_completing_body_shorter_than_the_known_length_keeps_its_bytes(
    engine: Engine,
) -> None:
    info = await engine.create(length=10)
    with pytest.raises(InvalidRequest, match="ends at 3 bytes but its length is 10"):
        await engine.append(info.id, 0, body(b"abc"), completes=True)
    after = await engine.status(info.id)
    assert (after.offset, after.length, after.is_complete) == (3, 10, False)


async def test_an_interrupted_completing_body_leaves_the_upload_incomplete(
    engine: Engine,
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"abc"
        raise ConnectionResetError("client went away")

    info = await engine.create(length=None)
    done = await engine.append(info.id, 0, broken(), completes=True)
    assert (done.offset, done.length) == (3, None)


async def test_announce_runs_under_the_lock_before_the_body(engine: Engine) -> None:
    info = await engine.create(length=None)
    seen: list[str] = []

    async def announce(at: UploadInfo) -> None:
        assert await engine.stores.locker.busy(at.id)  # type: ignore[attr-defined]
        seen.append(f"announce@{at.offset}")

    async def chunks() -> AsyncIterator[bytes]:
        seen.append("body")
        yield b"x"

    await engine.append(info.id, 0, chunks(), announce=announce)
    assert seen == ["announce@0", "body"]


async def test_checkpoints_record_the_offset_while_the_body_streams(engine: Engine) -> None:
    events: list[UploadEvent] = []
    engine.events.subscribe(events.append)
    info = await engine.create(length=None)
    recorded: list[int] = []

    async def on_recorded(at: UploadInfo) -> None:
        stored = await engine.stores.metadata.get(at.id)
        assert stored is not None and stored.offset == at.offset  # really recorded
        recorded.append(at.offset)

    chunks = [bytes([i]) * 1000 for i in range(6)]
    done = await engine.append(
        info.id,
        0,
        body(*chunks, pause=0.06),
        completes=True,
        progress=Progress(every=0.1, recorded=on_recorded),
    )
    assert done.offset == done.length == 6000
    assert len(recorded) >= 2 and recorded == sorted(set(recorded)) and recorded[0] < 6000
    progress = [e.upload.offset for e in events if e.type is EventType.PROGRESS]
    assert progress == sorted({*recorded, 6000})  # one event per recorded offset, none twice
    data = b"".join([c async for c in engine.read(done, 0, 6000)])
    assert data == b"".join(chunks)


async def test_a_status_request_does_not_stop_checkpoints(engine: Engine) -> None:
    """A HEAD on a healthy append neither interrupts it nor freezes its checkpoints: the
    offset it reported may move on, and a retry from it is told the current one."""
    info = await engine.create(length=None)
    recorded: list[int] = []

    async def on_recorded(at: UploadInfo) -> None:
        recorded.append(at.offset)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 100
        await asyncio.sleep(0.15)
        yield b"b" * 100  # a checkpoint is due before reading on: it records 200
        await asyncio.sleep(0.05)
        recorded.append(-(await engine.status(info.id)).offset)
        await asyncio.sleep(0.15)
        yield b"c" * 100  # due again: 300
        await asyncio.sleep(0.15)
        yield b"d" * 100  # and 400, before the body turns out to be over

    done = await engine.append(
        info.id, 0, chunks(), progress=Progress(every=0.1, recorded=on_recorded)
    )
    assert done.offset == 400
    assert recorded == [200, -200, 300, 400], recorded
    with pytest.raises(OffsetMismatch) as stale:
        await engine.append(info.id, 200, body(b"x"))  # a retry from the reported offset
    assert stale.value.offset == 400


async def test_a_retry_at_the_reported_offset_supersedes_and_drops_the_unrecorded(
    engine: Engine,
) -> None:
    info = await engine.create(length=None)
    gate = asyncio.Event()

    async def first() -> AsyncIterator[bytes]:
        yield b"a" * 10
        await asyncio.sleep(0.15)
        yield b"b" * 10  # a checkpoint records 20 before the next chunk is asked for
        gate.set()
        await asyncio.sleep(10)
        yield b"never"

    async def noop(at: UploadInfo) -> None:
        return None

    running = asyncio.ensure_future(
        engine.append(info.id, 0, first(), progress=Progress(every=0.1, recorded=noop))
    )
    await gate.wait()
    offset = (await engine.status(info.id)).offset
    assert offset == 20
    retry = await engine.append(info.id, offset, body(b"B" * 10, b"C" * 5), completes=True)
    assert (retry.offset, retry.length) == (35, 35)
    with pytest.raises(Exception, match="handed to another request"):
        await running
    data = b"".join([c async for c in engine.read(retry, 0, 35)])
    assert data == b"a" * 10 + b"b" * 10 + b"B" * 10 + b"C" * 5


async def test_whole_upload_digests_are_read_back(engine: Engine) -> None:
    info = await engine.create(length=None)
    parts = [b"x" * 3_000_000, b"y" * 7_000_000]
    await engine.append(info.id, 0, body(parts[0]))
    done = await engine.append(info.id, 3_000_000, body(parts[1]), completes=True)
    digests = await digest_upload(engine, done, ["sha256", "sha512"])
    whole = b"".join(parts)
    assert digests == {
        "sha256": hashlib.sha256(whole).digest(),
        "sha512": hashlib.sha512(whole).digest(),
    }
