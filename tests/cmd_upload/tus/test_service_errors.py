"""Service statuses that black-box tests cannot provoke on demand: a lock holder that
never lets go (423) and a store that cannot serve unfinished uploads (409)."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from tusgen.runtime import BodyStream
from tuskit.gen.tus import errors
from tuskit.gen.tus.service import (
    CreatePayload,
    DeletePayload,
    GetPayload,
    HeadPayload,
    PatchPayload,
)
from tuskit.persist import FileByteStore, MemoryMetadataStore, ProcessLocker, UploadInfo
from tuskit.persist.composer import StoreComposer
from tuskit.upload.engine import Engine, EngineOptions
from tuskit.upload.tus import TusService

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def body_of(*chunks: bytes) -> BodyStream:
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    feed: Iterator[dict[str, object]] = iter(messages)

    async def receive() -> dict[str, object]:
        return next(feed)

    return BodyStream(Request({"type": "http", "method": "PATCH", "headers": []}, receive))


@pytest.fixture
def service(tmp_path: Path) -> TusService:
    stores = StoreComposer(FileByteStore(tmp_path), MemoryMetadataStore(), ProcessLocker())
    return TusService(Engine(stores, EngineOptions(lock_timeout=0.2)))


async def create(service: TusService, length: int) -> str:
    result = await service.create(
        CreatePayload(tus_resumable="1.0.0", upload_length=length, host="h"), body_of()
    )
    return result.location.rsplit("/", 1)[1]


def patch_payload(upload_id: str, offset: int) -> PatchPayload:
    return PatchPayload(
        id=upload_id,
        tus_resumable="1.0.0",
        upload_offset=offset,
        content_type="application/offset+octet-stream",
    )


async def test_holder_that_never_lets_go_answers_423(service: TusService) -> None:
    upload_id = await create(service, 10)
    asked: list[bool] = []
    held = await service.engine.stores.locker.acquire(
        upload_id, timeout=1.0, on_release_request=lambda _: asked.append(True)
    )
    try:
        with pytest.raises(errors.Locked) as caught:
            await service.patch(patch_payload(upload_id, 0), body_of(b"abc"))
        assert caught.value.status == 423
        assert asked, "the holder was not asked to let go"
        # HEAD does not fail on a stuck holder: it reports the committed state.
        head = await service.head(HeadPayload(id=upload_id, tus_resumable="1.0.0"))
        assert head.upload_offset == 0
    finally:
        await held.release()
    result = await service.patch(patch_payload(upload_id, 0), body_of(b"abc"))
    assert result.upload_offset == 3


class NoUnfinishedReads(FileByteStore):
    """Like object storage: bytes are readable only once the upload is complete."""

    serves_unfinished = False

    async def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        assert info.is_complete, "the service must not read an unfinished upload here"
        async for chunk in super().read(info, start, end):
            yield chunk


async def test_unfinished_download_from_object_storage_is_409(tmp_path: Path) -> None:
    stores = StoreComposer(NoUnfinishedReads(tmp_path), MemoryMetadataStore(), ProcessLocker())
    service = TusService(Engine(stores))
    upload_id = await create(service, 6)
    await service.patch(patch_payload(upload_id, 0), body_of(b"abc"))
    with pytest.raises(errors.Incomplete) as caught:
        await service.get(GetPayload(id=upload_id))
    assert (caught.value.status, caught.value.upload_offset) == (409, 3)
    await service.patch(patch_payload(upload_id, 3), body_of(b"def"))
    result = await service.get(GetPayload(id=upload_id))
    assert result.body is not None
    assert b"".join([c async for c in result.body]) == b"abcdef"


class FailingDisk(FileByteStore):
    """A disk that fills up after the first write of each request."""

    failures = 0

    async def open_writer(self, info: UploadInfo) -> Any:
        writer = await super().open_writer(info)
        real_write = writer.write
        calls = 0

        async def write(data: bytes) -> None:
            nonlocal calls
            calls += 1
            if calls > 1 and FailingDisk.failures:
                FailingDisk.failures -= 1
                raise OSError(errno.ENOSPC, "No space left on device")
            await real_write(data)

        writer.write = write  # type: ignore[method-assign]
        return writer


async def test_a_full_disk_is_507_records_nothing_and_the_next_patch_succeeds(
    tmp_path: Path,
) -> None:
    stores = StoreComposer(FailingDisk(tmp_path), MemoryMetadataStore(), ProcessLocker())
    service = TusService(Engine(stores))
    upload_id = await create(service, 6)
    FailingDisk.failures = 1
    with pytest.raises(errors.InsufficientStorage) as full:
        await service.patch(patch_payload(upload_id, 0), body_of(b"abc", b"def"))
    assert full.value.status == 507
    assert ("Retry-After", "60") in full.value.header_items()
    head = await service.head(HeadPayload(id=upload_id, tus_resumable="1.0.0"))
    assert head.upload_offset == 0
    result = await service.patch(patch_payload(upload_id, 0), body_of(b"abc", b"def"))
    assert result.upload_offset == 6
    assert (tmp_path / upload_id).read_bytes() == b"abcdef"


class LosingLocker(ProcessLocker):
    """A shared lock whose lease runs out while the body streams (Redis unreachable)."""

    async def acquire(self, upload_id: str, **kwargs: Any) -> Any:
        held = await super().acquire(upload_id, **kwargs)
        losing = self

        class Held:
            async def release(self) -> None:
                await held.release()

            def still_held(self) -> bool:
                return not losing.lost

        return Held()

    lost = False


async def test_a_patch_that_lost_its_lock_records_nothing(tmp_path: Path) -> None:
    """Fencing: the bytes are written, but the offset is not moved by a holder that may
    no longer hold the lock; the client gets 503 and resumes from HEAD."""
    locker = LosingLocker()
    stores = StoreComposer(FileByteStore(tmp_path), MemoryMetadataStore(), locker)
    service = TusService(Engine(stores, EngineOptions(lock_timeout=0.2)))
    upload_id = await create(service, 10)
    await service.patch(patch_payload(upload_id, 0), body_of(b"abc"))
    locker.lost = True
    with pytest.raises(errors.Unavailable) as caught:
        await service.patch(patch_payload(upload_id, 3), body_of(b"def"))
    assert caught.value.retry_after == 1
    head = await service.head(HeadPayload(id=upload_id, tus_resumable="1.0.0"))
    assert head.upload_offset == 3
    with pytest.raises(errors.Unavailable):
        await service.delete(DeletePayload(id=upload_id, tus_resumable="1.0.0"))
    locker.lost = False
    await service.patch(patch_payload(upload_id, 3), body_of(b"DEF"))  # cuts "def", writes
    reader = stores.reader
    assert reader is not None
    info = await stores.metadata.get(upload_id)
    assert info is not None and info.offset == 6
    assert b"".join([c async for c in reader.read(info, 0, 6)]) == b"abcDEF"
