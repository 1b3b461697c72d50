"""All-or-nothing creation: an upload whose whole body comes in one request and which
exists only once every byte is durable (the stream store's POST and PUT).

While the body streams nothing is recorded and the id is known to nobody. Any way the
body can fail to arrive whole (the client goes away, a body shorter than its
Content-Length, a stall past the idle timeout, a shutdown, a body past `max_size`, a
failed digest) deletes the bytes and records nothing, on disk and in the bucket. A
chunked body's length is learned at its end; `max_size` is enforced at once from
Content-Length and as soon as a chunked body passes it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from tuskit.persist.ids import new_id
from tuskit.persist.model import UploadInfo

from .appender import Appended, Ending
from .digests import Verification
from .errors import ChecksumMismatch, TooLarge, Truncated, Unavailable
from .events import EventType, NewUpload
from .interrupt import IDLE, SHUTDOWN

if TYPE_CHECKING:
    from .uploads import Engine

log = logging.getLogger(__name__)


def uuid_id() -> str:
    """A UUIDv4 (122 random bits from the pooled CSPRNG): safe as a file or object name."""
    return str(uuid.UUID(hex=new_id(), version=4))


async def create_whole(
    engine: Engine,
    *,
    metadata: tuple[tuple[str, str], ...],
    body: AsyncIterator[bytes],
    content_length: int | None,
    verify: Verification | None,
) -> UploadInfo:
    """The new, complete upload, recorded after its bytes are durable; or an error and
    nothing stored."""
    engine._accepting()
    if content_length is not None:
        engine._check_length(content_length)
    new = NewUpload(id=uuid_id(), length=content_length, metadata=metadata)
    if engine.events.gates:
        new = await engine.events.pre_create(new)
    now = engine.clock()
    info = UploadInfo(
        id=new.id,
        length=new.length,
        metadata=new.metadata,
        created_at=now,
        updated_at=now,
        storage=new.storage,
    )
    storage = await engine.stores.byte_store.create(info)
    info = info.replace(storage=storage or info.storage)
    interrupt = engine._interrupt()
    try:
        info, appended = await engine._append(info, body, interrupt, verify)
        _refuse_unless_whole(info, appended, content_length, interrupt.reason)
        if info.length is None:
            info = info.replace(length=info.offset)
            if engine.stores.finisher is not None:
                await engine.stores.finisher.finish(info)
        done = engine.clock()
        info = info.replace(created_at=done, updated_at=done, expires_at=None)
        if engine.events.gates:
            await engine.events.pre_finish(info)
        await engine.stores.metadata.create(info)
    except BaseException:
        await engine._discard_new(info)
        raise
    engine.events.emit(EventType.CREATED, info, info.created_at)
    if info.offset:
        engine.events.emit(EventType.PROGRESS, info, info.updated_at)
    engine.events.emit(EventType.FINISHED, info, info.updated_at)
    return info


def _refuse_unless_whole(
    info: UploadInfo, appended: Appended, content_length: int | None, reason: str
) -> None:
    """Raise unless the body arrived whole and as promised."""
    if appended.checksum_failed:
        raise ChecksumMismatch("the body does not match its digest; nothing was stored", 0)
    if appended.ending is Ending.TOO_LARGE:
        raise TooLarge("the body is larger than the size limit; nothing was stored")
    if appended.ending is Ending.STOPPED:
        if reason == IDLE:
            raise Truncated("the body stalled; nothing was stored")
        why = "the server is shutting down" if reason == SHUTDOWN else "the request was stopped"
        raise Unavailable(f"{why}; nothing was stored, send it again")
    if appended.ending is Ending.INTERRUPTED:
        raise Truncated("the body ended before it was complete; nothing was stored")
    if content_length is not None and info.offset != content_length:
        raise Truncated(
            f"the body brought {info.offset} of its {content_length} bytes; nothing was stored"
        )
