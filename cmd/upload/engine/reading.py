"""Reads that start before they answer, and finish whatever happens to the upload after.

`open_read` opens the byte store's stream and waits for its first chunk before the
adapter sends any header: an upload deleted just before is then a clean 404, and one
deleted during the read keeps serving every byte (an open file survives unlink; on
object storage a read lease defers the delete, see `retention`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import MetadataStore, StoreError

from .errors import Gone, NotFound, Unreadable
from .retention import Lease, Retention

log = logging.getLogger(__name__)


async def open_read(
    retention: Retention, info: UploadInfo, start: int, end: int
) -> AsyncIterator[bytes]:
    """Bytes [start, end) of `info`, already flowing; NotFound / Gone if they went away."""
    stores = retention.stores
    reader = stores.reader
    if reader is None:
        raise Unreadable("this store cannot serve downloads")
    lease = await retention.lease(info.id)
    chunks: AsyncIterator[bytes] | None = None
    try:
        if lease is not None:  # the lease is taken: only now is a live record a promise
            await _still_active(stores.metadata, info.id)
        first = b""
        if start < end:
            chunks = reader.read(info, start, end)
            try:
                first = await chunks.__anext__()
            except (StoreError, StopAsyncIteration) as exc:
                # Deleted between the caller's load and this open: say so; else it is
                # the store's failure.
                await _still_active(stores.metadata, info.id)
                if isinstance(exc, StopAsyncIteration):
                    raise StoreError(f"upload {info.id} has no bytes at {start}") from None
                raise
    except BaseException:
        await _close(chunks)
        if lease is not None:
            await lease.release()
        raise
    return _flowing(first, chunks, lease)


async def _still_active(metadata: MetadataStore, upload_id: str) -> None:
    current = await metadata.get(upload_id)
    if current is None:
        raise NotFound(f"upload {upload_id} does not exist")
    if current.state is not UploadState.ACTIVE:
        raise Gone(f"upload {upload_id} was {current.state.value}", current.state)


async def _flowing(
    first: bytes, chunks: AsyncIterator[bytes] | None, lease: Lease | None
) -> AsyncIterator[bytes]:
    try:
        if first:
            yield first
        if chunks is not None:
            async for chunk in chunks:
                yield chunk
    finally:
        await _close(chunks)
        if lease is not None:
            await lease.release()


async def _close(chunks: AsyncIterator[bytes] | None) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
