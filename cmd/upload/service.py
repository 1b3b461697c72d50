"""TusService: the handwritten implementation of the generated tus interface.

The generated router has already decoded and validated every declared header (412,
415, 400 with all problems); this class owns the protocol's state rules: offsets,
lengths, metadata, checksums, expiry, concatenation and downloads.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from tusgen.runtime import BodyStream, construct
from tuskit.gen.tus import errors
from tuskit.gen.tus.service import (
    CreatePayload,
    CreateResult,
    DeletePayload,
    DeleteResult,
    GetPayload,
    GetResult,
    HeadPayload,
    HeadResult,
    OptionsPayload,
    OptionsResult,
    OptionsUploadPayload,
    OptionsUploadResult,
    PatchPayload,
    PatchResult,
)
from tuskit.persist.composer import StoreComposer
from tuskit.persist.ids import new_id
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import HeldLock, LockProbe, LockTimeout

from . import download
from .appender import Appended, Ending, Interrupt, MissingTrailer, append_body
from .checksum import ADVERTISED, ALGORITHMS, ChecksumError, Expected, StreamDigests, parse_checksum
from .concat import Concatenation, ConcatError, parse_final
from .config import Settings
from .httpdates import http_date
from .inflight import Inflight
from .metadata import MetadataError, format_metadata, parse_metadata
from .urls import RequestOrigin, external_base

log = logging.getLogger("tuskit.upload")

TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"
RETRY_AFTER_SECONDS = 1


def fence(lock: HeldLock) -> None:
    """Refuse to record anything once the upload's lock may belong to someone else (a
    lease that ran out while Redis was unreachable or the loop stalled, a PostgreSQL
    session that ended): 503, the client asks HEAD and resumes. Bytes written meanwhile
    lie beyond the recorded offset, where the next writer cuts or overwrites them."""
    if not lock.still_held():
        raise errors.Unavailable(
            "this server lost the upload's lock before it could record the new offset; retry",
            retry_after=RETRY_AFTER_SECONDS,
        )


def new_upload_id() -> str:
    """128 random bits, hex: unguessable and safe as a file or object name."""
    return new_id()


class TusService:
    """Implements `tuskit.gen.tus.service.Service` on a StoreComposer."""

    def __init__(
        self,
        stores: StoreComposer,
        settings: Settings,
        *,
        inflight: Inflight | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stores = stores
        self.settings = settings
        self.inflight = inflight if inflight is not None else Inflight()
        self.clock = clock
        self.concat = Concatenation(stores, settings)
        self._extensions = ",".join(stores.extensions())
        # Decided once: a runtime_checkable isinstance costs microseconds per HEAD.
        locker = stores.locker
        self._lock_probe = locker.busy if isinstance(locker, LockProbe) else None

    # -- discovery -----------------------------------------------------------------

    def _options(self) -> tuple[str, str, int | None, str]:
        max_size = self.settings.max_size or None
        return TUS_VERSION, self._extensions, max_size, ADVERTISED

    async def options(self, payload: OptionsPayload) -> OptionsResult:
        version, extensions, max_size, algorithms = self._options()
        return OptionsResult(
            tus_version=version,
            tus_extension=extensions,
            tus_max_size=max_size,
            tus_checksum_algorithm=algorithms,
        )

    async def options_upload(self, payload: OptionsUploadPayload) -> OptionsUploadResult:
        version, extensions, max_size, algorithms = self._options()
        return OptionsUploadResult(
            tus_version=version,
            tus_extension=extensions,
            tus_max_size=max_size,
            tus_checksum_algorithm=algorithms,
        )

    # -- state helpers ---------------------------------------------------------------

    async def _load(self, upload_id: str) -> UploadInfo:
        """The active upload, or the protocol's 404 / 410."""
        info = await self.stores.metadata.get(upload_id)
        if info is None:
            raise errors.NotFound(f"upload {upload_id} does not exist")
        if info.state is not UploadState.ACTIVE:
            raise errors.Gone(f"upload {upload_id} was {info.state.value}")
        if self._expired(info):
            raise errors.Gone(f"upload {upload_id} expired")
        return info

    def _expired(self, info: UploadInfo) -> bool:
        return (
            info.expires_at is not None and not info.is_complete and info.expires_at <= self.clock()
        )

    def _expires_header(self, info: UploadInfo) -> str | None:
        if info.expires_at is None or info.is_complete:
            return None
        return http_date(info.expires_at)

    def _next_expiry(self, now: float) -> float | None:
        return now + self.settings.expire_after if self.settings.expire_after > 0 else None

    async def _lock(
        self, upload_id: str, interrupt: Interrupt, timeout: float | None = None
    ) -> HeldLock:
        try:
            return await self.stores.locker.acquire(
                upload_id,
                timeout=self.settings.lock_timeout if timeout is None else timeout,
                on_release_request=interrupt.fire,
            )
        except LockTimeout as exc:
            raise errors.Locked(
                f"upload {upload_id} is locked by another request; retry later"
            ) from exc

    def _checksum_plan(
        self, header: str | None, trailer: str | None, body: BodyStream
    ) -> tuple[StreamDigests | None, Callable[[], Expected | None]]:
        """Which digests to compute while streaming, and how to learn the expected one."""
        if header is not None:
            try:
                expected = parse_checksum(header)
            except ChecksumError as exc:
                raise errors.BadRequest(str(exc)) from exc
            return StreamDigests([expected.algorithm]), lambda: expected
        announced = trailer is not None and "upload-checksum" in trailer.lower()
        if not announced:
            return None, lambda: None

        def from_trailer() -> Expected | None:
            value = body.trailers.get("upload_checksum")
            return parse_checksum(value) if value is not None else None

        return StreamDigests(list(ALGORITHMS)), from_trailer

    async def _append(
        self,
        info: UploadInfo,
        body: BodyStream,
        *,
        interrupt: Interrupt,
        checksum: str | None,
        trailer: str | None,
    ) -> tuple[UploadInfo, Appended]:
        """Stream `body` at `info.offset` (lock held); returns the record with the new
        offset, committed to the byte store but not yet saved (the caller saves it)."""
        digests, expected = self._checksum_plan(checksum, trailer, body)
        limit = self._limit(info)
        writer = await self.stores.byte_store.open_writer(info)
        self.inflight.add(interrupt)
        try:
            appended = await append_body(
                body, writer, limit=limit, interrupt=interrupt, digests=digests, expected=expected
            )
        except (ChecksumError, MissingTrailer) as exc:
            raise errors.BadRequest(str(exc)) from exc
        finally:
            self.inflight.discard(interrupt)
        if appended.offset >= 0 and appended.offset != info.offset:
            now = self.clock()
            info = info.replace(offset=appended.offset, updated_at=now)
            if not info.is_complete:
                info = info.replace(expires_at=self._next_expiry(now))
        return info, appended

    def _limit(self, info: UploadInfo) -> int | None:
        if info.length is not None:
            return max(0, info.length - info.offset)
        if self.settings.max_size:
            return max(0, self.settings.max_size - info.offset)
        return None

    def _raise_for_ending(self, info: UploadInfo, appended: Appended) -> None:
        """Turn how the body ended into the protocol's answer (after state is saved)."""
        if appended.checksum_failed:
            raise errors.ChecksumMismatch(
                "the body does not match Upload-Checksum; it was discarded",
                upload_offset=info.offset,
            )
        if appended.ending is Ending.TOO_LARGE:
            raise errors.RequestTooLarge(
                f"the body passes the upload's length; offset stays at {info.offset}"
            )
        if appended.ending is Ending.STOPPED:
            raise errors.Unavailable(
                f"upload handed to another request or the server is stopping; "
                f"offset is {info.offset}",
                retry_after=RETRY_AFTER_SECONDS,
            )

    # -- creation --------------------------------------------------------------------

    async def create(self, payload: CreatePayload, body: BodyStream) -> CreateResult:
        if self.inflight.draining:
            raise errors.Unavailable("server is shutting down", retry_after=RETRY_AFTER_SECONDS)
        try:
            metadata = parse_metadata(payload.upload_metadata)
        except MetadataError as exc:
            raise errors.BadRequest(str(exc)) from exc
        has_body = self._has_body(payload.content_type, payload.content_length)
        origin = RequestOrigin(
            payload.host,
            payload.forwarded,
            payload.x_forwarded_host,
            payload.x_forwarded_proto,
            payload.x_forwarded_prefix,
        )
        base = external_base(
            origin, self.settings.location_base, behind_proxy=self.settings.behind_proxy
        )
        now = self.clock()
        concat = payload.upload_concat
        if concat is not None and concat.startswith("final"):
            if has_body:
                raise errors.BadRequest("a final upload cannot carry a body")
            if payload.upload_length is not None or payload.upload_defer_length is not None:
                raise errors.BadRequest(
                    "a final upload must not send Upload-Length or Upload-Defer-Length"
                )
            try:
                partial_ids = parse_final(concat, self.settings.location_base)
                info = await self.concat.create_final(new_upload_id(), partial_ids, metadata, now)
            except ConcatError as exc:
                raise errors.BadRequest(str(exc)) from exc
            return CreateResult(
                location=base + info.id,
                upload_offset=None,
                upload_expires=None,
            )

        length = self._creation_length(payload)
        info = UploadInfo(
            id=new_upload_id(),
            length=length,
            metadata=metadata,
            is_partial=concat == "partial",
            created_at=now,
            updated_at=now,
            expires_at=self._next_expiry(now),
        )
        storage = await self.stores.byte_store.create(info)
        info = info.replace(storage=storage)
        if has_body:
            info = await self._create_with_upload(info, payload, body)
        else:
            await self.stores.metadata.create(info)
        return CreateResult(
            location=base + info.id,
            upload_offset=info.offset,
            upload_expires=self._expires_header(info),
        )

    def _has_body(self, content_type: str | None, content_length: int | None) -> bool:
        """creation-with-upload: a body typed as offset stream; another typed body is 415."""
        if content_type is not None and content_type.split(";")[0].strip() == OFFSET_STREAM:
            return content_length is None or content_length > 0
        if content_length:
            raise errors.UnsupportedMediaType(f"a body at creation must be sent as {OFFSET_STREAM}")
        return False

    def _creation_length(self, payload: CreatePayload) -> int | None:
        if payload.upload_length is not None and payload.upload_defer_length is not None:
            raise errors.BadRequest("send either Upload-Length or Upload-Defer-Length, not both")
        if payload.upload_length is None and payload.upload_defer_length is None:
            raise errors.BadRequest("Upload-Length or Upload-Defer-Length: 1 is required")
        length = payload.upload_length
        if length is not None and self.settings.max_size and length > self.settings.max_size:
            raise errors.RequestTooLarge(
                f"Upload-Length {length} exceeds Tus-Max-Size {self.settings.max_size}"
            )
        return length

    async def _create_with_upload(
        self, info: UploadInfo, payload: CreatePayload, body: BodyStream
    ) -> UploadInfo:
        """The first bytes ride on the POST, and the record is written once, after them.

        No lock and no record while the body streams: nobody else knows this id until the
        201 carries its Location. A failed check deletes the bytes and records nothing. A
        body stopped by shutdown still gets its 201, so the client resumes with a HEAD.
        """
        limit = self._limit(info)
        if (
            payload.content_length is not None
            and limit is not None
            and payload.content_length > limit
        ):
            raise errors.RequestTooLarge("the body passes Upload-Length")
        try:
            info, appended = await self._append(
                info,
                body,
                interrupt=Interrupt(),
                checksum=payload.upload_checksum,
                trailer=payload.trailer,
            )
        except BaseException:
            await self._discard_new(info)  # never recorded: leave no file behind
            raise
        if appended.checksum_failed or appended.ending is Ending.TOO_LARGE:
            await self._discard_new(info)
            self._raise_for_ending(info, appended)
        await self.stores.metadata.create(info)
        if info.is_complete and info.is_partial:
            await self.concat.partial_completed(info.id)
        return info

    async def _discard_new(self, info: UploadInfo) -> None:
        """Remove the bytes of an upload that was never recorded."""
        if self.stores.terminator is not None:
            try:
                await self.stores.terminator.delete(info)
            except Exception:
                log.exception("could not delete the bytes of unrecorded upload %s", info.id)

    # -- core: HEAD / PATCH ----------------------------------------------------------

    async def _settle(self, upload_id: str) -> bool:
        """If a PATCH holds the upload, ask it to let go, so HEAD reports the offset the
        next PATCH will see. Costs one probe when nobody holds the lock."""
        if self._lock_probe is not None and not await self._lock_probe(upload_id):
            return False
        try:
            # A live holder lets go in milliseconds; one that does not answer (a crashed
            # instance's lease) is not worth more than a short wait: HEAD then reports
            # the committed offset, which is what the holder would leave anyway.
            lock = await self._lock(upload_id, Interrupt(), min(self.settings.lock_timeout, 1.0))
        except errors.Locked:
            return False
        await lock.release()
        return True

    async def head(self, payload: HeadPayload) -> HeadResult:
        info = await self._load(payload.id)
        if await self._settle(info.id):
            info = await self._load(info.id)
        if info.is_final and not info.is_complete:
            # A completion missed by a crash or a busy lock is retried here.
            await self.concat.complete_if_ready(info.id)
            info = await self._load(info.id)
        final_done = not info.is_final or info.is_complete
        return construct(  # hot path: values are typed by construction, every field named
            HeadResult,
            {
                "upload_offset": info.offset if final_done else None,
                "upload_length": info.length,
                "upload_defer_length": "1" if info.length is None and not info.is_final else None,
                "upload_metadata": format_metadata(info.metadata),
                "upload_concat": self._concat_header(info),
                "upload_expires": self._expires_header(info),
            },
        )

    def _concat_header(self, info: UploadInfo) -> str | None:
        if info.is_partial:
            return "partial"
        if info.partials is not None:
            base = self.settings.location_base
            return "final;" + " ".join(base + p for p in info.partials)
        return None

    async def patch(self, payload: PatchPayload, body: BodyStream) -> PatchResult:
        if self.inflight.draining:
            raise errors.Unavailable("server is shutting down", retry_after=RETRY_AFTER_SECONDS)
        info = await self._load(payload.id)
        if info.is_final:
            raise errors.FinalUpload("a final upload of a concatenation cannot be patched")
        interrupt = Interrupt()
        lock = await self._lock(info.id, interrupt)
        try:
            info = await self._load(payload.id)  # the offset may have moved while we waited
            was_complete = info.is_complete
            if payload.upload_offset != info.offset:
                raise errors.OffsetMismatch(
                    f"Upload-Offset {payload.upload_offset} does not match the upload's "
                    f"offset {info.offset}",
                    upload_offset=info.offset,
                )
            info = await self._apply_length(info, payload.upload_length, lock)
            limit = self._limit(info)
            if (
                payload.content_length is not None
                and limit is not None
                and payload.content_length > limit
            ):
                raise errors.RequestTooLarge(
                    f"a body of {payload.content_length} bytes passes the upload's length "
                    f"({limit} bytes left)"
                )
            before = info.offset
            info, appended = await self._append(
                info,
                body,
                interrupt=interrupt,
                checksum=payload.upload_checksum,
                trailer=payload.trailer,
            )
            if info.offset != before:
                fence(lock)
                await self.stores.metadata.save(info)  # bytes are durable: move the offset
        finally:
            await lock.release()
        if info.is_complete and info.is_partial and not was_complete:
            # Also when an empty PATCH only fixed a deferred length that completes it.
            await self.concat.partial_completed(info.id)
        self._raise_for_ending(info, appended)
        return construct(
            PatchResult,
            {"upload_offset": info.offset, "upload_expires": self._expires_header(info)},
        )

    async def _apply_length(
        self, info: UploadInfo, length: int | None, lock: HeldLock
    ) -> UploadInfo:
        """creation-defer-length: the first PATCH that knows the length fixes it."""
        if length is None:
            return info
        if info.length is not None:
            if length != info.length:
                raise errors.BadRequest(
                    f"Upload-Length {length} differs from the upload's length {info.length}"
                )
            return info
        if length < info.offset:
            raise errors.BadRequest(f"Upload-Length {length} is below the offset {info.offset}")
        if self.settings.max_size and length > self.settings.max_size:
            raise errors.RequestTooLarge(
                f"Upload-Length {length} exceeds Tus-Max-Size {self.settings.max_size}"
            )
        info = info.replace(length=length, updated_at=self.clock())
        fence(lock)
        await self.stores.metadata.save(info)
        return info

    # -- termination -------------------------------------------------------------------

    async def delete(self, payload: DeletePayload) -> DeleteResult:
        info = await self._load(payload.id)
        lock = await self._lock(info.id, Interrupt())
        try:
            info = await self._load(payload.id)
            fence(lock)
            await self._remove(info, UploadState.TERMINATED)
        finally:
            await lock.release()
        return DeleteResult()

    async def _remove(self, info: UploadInfo, state: UploadState) -> None:
        """Tombstone first, bytes second: a crash in between leaves an orphan file for
        recovery to remove, never an active record whose bytes are gone."""
        await self.stores.metadata.mark(info.id, state, self.clock())
        if self.stores.terminator is not None:
            await self.stores.terminator.delete(info)

    # -- download ----------------------------------------------------------------------

    async def get(self, payload: GetPayload) -> GetResult:
        info = await self._load(payload.id)
        reader = self.stores.reader
        if reader is None:
            raise errors.NotFound("this store cannot serve downloads")
        if not info.is_complete and not getattr(reader, "serves_unfinished", True):
            raise errors.Incomplete(
                "this store serves an upload once it is complete", upload_offset=info.offset
            )
        v = download.validators(info)
        conditions = download.Conditions(
            range=payload.range,
            if_range=payload.if_range,
            if_match=payload.if_match,
            if_none_match=payload.if_none_match,
            if_modified_since=payload.if_modified_since,
            if_unmodified_since=payload.if_unmodified_since,
        )
        size = info.offset  # a snapshot: append-only bytes below it never change
        plan = download.plan_download(v, size, conditions)
        if plan.status == 412:
            raise errors.PreconditionFailed("a precondition of the request did not hold")
        if plan.status == 416:
            raise errors.RangeNotSatisfiable(
                f"range outside 0-{size}", content_range=f"bytes */{size}"
            )
        if plan.status == 304:
            return GetResult(status=304, etag=v.etag, last_modified=v.last_modified)
        content_type, disposition = download.content_headers(info)
        partial = plan.status == 206
        return GetResult(
            status=206 if partial else 200,
            content_type=content_type,
            content_disposition=disposition,
            content_length=plan.end - plan.start,
            etag=v.etag,
            last_modified=v.last_modified,
            accept_ranges="bytes",
            cache_control="no-cache",
            x_content_type_options="nosniff",
            content_range=f"bytes {plan.start}-{plan.end - 1}/{size}" if partial else None,
            body=_stream(reader.read(info, plan.start, plan.end)),
        )


async def _stream(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass chunks through and close the reader even when the client goes away."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
