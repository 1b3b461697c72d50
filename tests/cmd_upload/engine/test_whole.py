"""All-or-nothing creation (`Engine.create(whole=True)`): recorded complete once every
byte is durable, or nothing stored at all (no record, no file)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import open_local
from tuskit.persist.model import UploadInfo
from tuskit.upload.engine import Engine, EngineOptions, EventType, UploadEvent
from tuskit.upload.engine.errors import Rejected, TooLarge, Truncated, Unavailable
from tuskit.upload.engine.whole import uuid_id

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def broken(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise ConnectionResetError("client went away")


def stored_files(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if not p.name.startswith("."))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    stores = open_local(tmp_path)
    eng = Engine(stores, EngineOptions(max_size=8_000_000, idle_timeout=0.3))
    yield eng
    await stores.close()


async def read(engine: Engine, info: UploadInfo) -> bytes:
    return b"".join([c async for c in engine.read(info, 0, info.offset)])


def test_ids_are_uuid4() -> None:
    ids = {uuid_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in list(ids)[:50]:
        assert uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text


async def test_a_chunked_body_learns_its_length_at_the_end(engine: Engine) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # past the buffer: the O_DIRECT path
    parts = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    info = await engine.create(length=None, body=body(*parts), whole=True)
    assert info.length == info.offset == len(data) and info.is_complete
    assert info.expires_at is None
    assert await engine.stores.metadata.get(info.id) == info
    assert await read(engine, info) == data


async def test_content_length_and_metadata_are_kept(engine: Engine) -> None:
    info = await engine.create(
        length=None,
        metadata=(("filetype", "text/plain"),),
        body=body(b"some ", b"data"),
        content_length=9,
        whole=True,
    )
    assert (info.length, info.offset, info.metadata) == (9, 9, (("filetype", "text/plain"),))


async def test_an_empty_body_is_an_empty_complete_upload(engine: Engine) -> None:
    info = await engine.create(length=None, body=body(), whole=True)
    assert (info.length, info.offset) == (0, 0) and info.is_complete
    assert await read(engine, info) == b""


async def test_an_interrupted_body_leaves_nothing(engine: Engine, tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024)
    with pytest.raises(Truncated):
        await engine.create(length=None, body=broken(big, big), whole=True)
    with pytest.raises(Truncated):
        await engine.create(length=None, body=broken(b"short"), whole=True)
    assert stored_files(tmp_path) == []


async def test_a_body_shorter_than_its_content_length_leaves_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(Truncated):
        await engine.create(length=None, body=body(b"12345"), content_length=10, whole=True)
    assert stored_files(tmp_path) == []


async def test_too_large_at_once_from_content_length(engine: Engine, tmp_path: Path) -> None:
    pulled: list[int] = []

    async def watched() -> AsyncIterator[bytes]:
        pulled.append(1)
        yield b"x"

    with pytest.raises(TooLarge):
        await engine.create(length=None, body=watched(), content_length=8_000_001, whole=True)
    assert pulled == []  # refused before reading a byte
    assert stored_files(tmp_path) == []


async def test_too_large_as_soon_as_a_chunked_body_passes_the_limit(
    engine: Engine, tmp_path: Path
) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            sent.append(1)
            yield b"x" * 1_000_000

    with pytest.raises(TooLarge):
        await engine.create(length=None, body=endless(), whole=True)
    assert len(sent) == 9  # stopped at the chunk that passed 8,000,000 bytes
    assert stored_files(tmp_path) == []


async def test_a_stalled_body_is_ended_and_leaves_nothing(engine: Engine, tmp_path: Path) -> None:
    async def stalls() -> AsyncIterator[bytes]:
        yield b"start"
        await asyncio.sleep(30)
        yield b"never"

    with pytest.raises(Truncated, match="stalled"):
        await asyncio.wait_for(engine.create(length=None, body=stalls(), whole=True), 10)
    assert stored_files(tmp_path) == []


async def test_shutdown_stops_the_body_and_leaves_nothing(engine: Engine, tmp_path: Path) -> None:
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield os.urandom(3 * 1024 * 1024)
        started.set()
        await asyncio.sleep(30)
        yield b"never"

    task = asyncio.ensure_future(engine.create(length=None, body=slow(), whole=True))
    await started.wait()
    assert engine.inflight.drain() == 1
    with pytest.raises(Unavailable, match="nothing was stored"):
        await asyncio.wait_for(task, 10)
    assert stored_files(tmp_path) == []
    with pytest.raises(Unavailable):
        await engine.create(length=None, body=body(b"x"), whole=True)


async def test_events_report_a_created_and_finished_upload(engine: Engine) -> None:
    heard: list[UploadEvent] = []
    engine.events.subscribe(heard.append)
    info = await engine.create(length=None, body=body(b"abc"), whole=True)
    assert [(e.type, e.upload.id) for e in heard] == [
        (EventType.CREATED, info.id),
        (EventType.PROGRESS, info.id),
        (EventType.FINISHED, info.id),
    ]
    assert all(e.upload.is_complete for e in heard)


async def test_a_refused_finish_leaves_nothing(engine: Engine, tmp_path: Path) -> None:
    class NoFinish:
        async def pre_create(self, upload: object, request: object) -> object:
            return upload

        async def pre_finish(self, upload: object, request: object) -> None:
            raise Rejected("not this content", status=422)

        async def pre_terminate(self, upload: object, request: object) -> None: ...

        async def pre_access(self, upload: object, mode: object, request: object) -> None: ...

    engine.events.add_gate(NoFinish())  # type: ignore[arg-type]
    with pytest.raises(Rejected):
        await engine.create(length=None, body=body(b"abc"), whole=True)
    assert stored_files(tmp_path) == []
