"""StreamsService: the generated stream store interface, translated onto the upload engine.

A stream is an upload created whole by one request (`Engine.create(whole=True)`): its id
is answered only once every byte is durable, and a body that does not arrive whole
leaves nothing. Reads go through `Engine.open_read`, which starts the read before the
headers go out, so a delete meanwhile lets it finish with every byte. Queues are a
`QueueIndex` of finished streams, appended to once a stream is recorded.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from tusgen.runtime import BodyStream
from tuskit.gen.streams import errors
from tuskit.gen.streams.service import (
    CreatePayload,
    CreateResult,
    DeletePayload,
    DeleteResult,
    EnqueuePayload,
    EnqueuePutPayload,
    EnqueuePutResult,
    EnqueueResult,
    FirstPayload,
    FirstResult,
    GetPayload,
    GetResult,
    HeadPayload,
    HeadResult,
    ListPayload,
    ListResult,
    NextPayload,
    NextResult,
    PrevPayload,
    PrevResult,
    PutPayload,
    PutResult,
    QueuedStatus,
    QueuesPayload,
    QueuesResult,
    StreamStatus,
)
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import QueueIndex
from tuskit.persist.queues import MemoryQueueIndex

from ..engine import AccessMode, Engine
from ..engine import errors as engine_errors
from ..web import download
from . import cursor
from .content import served_headers, stream_metadata
from .queues import Queues
from .translate import translated

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamsOptions:
    base_path: str = "/v1"
    """Where the API is mounted (no trailing slash); `Location` is `<base>/streams/<id>`."""


class StreamsService:
    """Implements `tuskit.gen.streams.service.Service` on an Engine."""

    def __init__(self, engine: Engine, options: StreamsOptions | None = None) -> None:
        self.engine = engine
        self.config = options if options is not None else StreamsOptions()
        index: QueueIndex | None = engine.stores.queues
        if index is None:
            log.warning("no queue store configured: queues live in this process only")
            index = MemoryQueueIndex()
            engine.stores.queues = index
        self.fifo = Queues(index, engine.inflight, engine.clock)

    def _location(self, stream_id: str) -> str:
        return f"{self.config.base_path}/streams/{stream_id}"

    # -- storing ---------------------------------------------------------------------

    @translated
    async def _store(
        self,
        content_type: str | None,
        content_length: int | None,
        body: BodyStream,
        queue: str | None = None,
    ) -> UploadInfo:
        info = await self.engine.create(
            length=None,
            metadata=stream_metadata(content_type, queue),
            body=body,
            content_length=content_length,
            whole=True,
        )
        if queue is not None:
            try:
                await self.fifo.index.append(
                    queue, info.id, info.offset, served_headers(info)[0], info.created_at
                )
            except BaseException:
                # Not in its queue means not created: nobody learned the id, so undo it.
                with contextlib.suppress(Exception):
                    await self.engine.terminate(info.id)
                raise
        log.debug("stream %s stored: %d bytes, queue %s", info.id, info.offset, queue)
        return info

    async def _created(
        self, content_type: str | None, content_length: int | None, body: BodyStream
    ) -> tuple[str, StreamStatus]:
        info = await self._store(content_type, content_length, body)
        return self._location(info.id), StreamStatus(id=info.id, status="created")

    async def _queued(
        self, queue: str, content_type: str | None, content_length: int | None, body: BodyStream
    ) -> tuple[str, QueuedStatus]:
        info = await self._store(content_type, content_length, body, queue)
        return self._location(info.id), QueuedStatus(id=info.id, queue=queue, status="created")

    async def create(self, payload: CreatePayload, body: BodyStream) -> CreateResult:
        location, status = await self._created(payload.content_type, payload.content_length, body)
        return CreateResult(location=location, body=status)

    async def put(self, payload: PutPayload, body: BodyStream) -> PutResult:
        location, status = await self._created(payload.content_type, payload.content_length, body)
        return PutResult(location=location, body=status)

    async def enqueue(self, payload: EnqueuePayload, body: BodyStream) -> EnqueueResult:
        location, status = await self._queued(
            payload.queue, payload.content_type, payload.content_length, body
        )
        return EnqueueResult(location=location, body=status)

    async def enqueue_put(self, payload: EnqueuePutPayload, body: BodyStream) -> EnqueuePutResult:
        location, status = await self._queued(
            payload.queue, payload.content_type, payload.content_length, body
        )
        return EnqueuePutResult(location=location, body=status)

    # -- reading ---------------------------------------------------------------------

    async def _stream(self, stream_id: str, mode: AccessMode) -> UploadInfo:
        """The stream, or 404: unknown, deleted, or an upload that is not complete."""
        try:
            info = await self.engine.load(stream_id, mode)
        except engine_errors.Gone:
            raise errors.NotFound(f"stream {stream_id} was deleted") from None
        except engine_errors.NotFound:
            raise errors.NotFound(f"stream {stream_id} does not exist") from None
        if not info.is_complete:
            raise errors.NotFound(f"stream {stream_id} does not exist")
        return info

    @translated
    async def get(self, payload: GetPayload) -> GetResult:
        info = await self._stream(payload.id, AccessMode.READ)
        v = download.validators(info)
        size = info.offset
        plan = download.plan_download(
            v,
            size,
            download.Conditions.of(payload),
        )
        if plan.status == 412:
            raise errors.PreconditionFailed("a precondition of the request did not hold")
        if plan.status == 416:
            raise errors.RangeNotSatisfiable(
                f"the range lies outside the stream's {size} bytes", content_range=f"bytes */{size}"
            )
        if plan.status == 304:
            return GetResult(status=304, etag=v.etag, last_modified=v.last_modified)
        content_type, disposition = served_headers(info)
        body = await self.engine.open_read(info, plan.start, plan.end)
        partial = plan.status == 206
        return GetResult(
            status=206 if partial else 200,
            content_type=content_type,
            content_disposition=disposition,
            content_length=plan.end - plan.start,
            etag=v.etag,
            last_modified=v.last_modified,
            content_range=f"bytes {plan.start}-{plan.end - 1}/{size}" if partial else None,
            body=body,
        )

    @translated
    async def head(self, payload: HeadPayload) -> HeadResult:
        info = await self._stream(payload.id, AccessMode.READ)
        v = download.validators(info)
        plan = download.plan_download(
            v,
            info.offset,
            download.Conditions.of(payload),
        )
        if plan.status == 412:
            raise errors.PreconditionFailed("a precondition of the request did not hold")
        if plan.status == 304:
            return HeadResult(status=304, etag=v.etag, last_modified=v.last_modified)
        content_type, disposition = served_headers(info)
        return HeadResult(
            content_type=content_type,
            content_disposition=disposition,
            content_length=info.offset,
            etag=v.etag,
            last_modified=v.last_modified,
        )

    # -- deleting ----------------------------------------------------------------------

    @translated
    async def delete(self, payload: DeletePayload) -> DeleteResult:
        stream_id = payload.id
        try:
            await self._stream(stream_id, AccessMode.WRITE)
            await self.engine.terminate(stream_id)
        except (engine_errors.NotFound, engine_errors.Gone, errors.NotFound):
            # Also heals a queue entry left behind by a delete that failed half-way.
            await self.fifo.unlist(stream_id)
            raise
        await self.fifo.unlist(stream_id)
        log.debug("stream %s deleted", stream_id)
        return DeleteResult(body=StreamStatus(id=stream_id, status="deleted"))

    # -- queues ------------------------------------------------------------------------

    async def list(self, payload: ListPayload) -> ListResult:
        page = await self.fifo.page(payload.queue, payload.limit, payload.cursor)
        etag = cursor.weak_etag(page.model_dump_json(by_alias=True).encode())
        if cursor.matches(payload.if_none_match, etag):
            return ListResult(status=304, etag=etag)
        return ListResult(etag=etag, body=page)

    async def first(self, payload: FirstPayload) -> FirstResult:
        return FirstResult(body=await self.fifo.first(payload.queue, payload.wait))

    async def next(self, payload: NextPayload) -> NextResult:
        return NextResult(body=await self.fifo.next(payload.queue, payload.id, payload.wait))

    async def prev(self, payload: PrevPayload) -> PrevResult:
        return PrevResult(body=await self.fifo.prev(payload.queue, payload.id))

    async def queues(self, payload: QueuesPayload) -> QueuesResult:
        found = await self.fifo.summary()
        etag = cursor.weak_etag(found.model_dump_json(by_alias=True).encode())
        if cursor.matches(payload.if_none_match, etag):
            return QueuesResult(status=304, etag=etag)
        return QueuesResult(etag=etag, body=found)
