"""The upload engine: every protocol's uploads, as byte sequences with an offset.

An upload has an optional length, a plain metadata mapping and an append-only body.
The engine owns the rules every protocol shares: one writer at a time (locks that ask
a running append to let go), fencing (record nothing once the lock may be someone
else's), appends from an async byte stream with digests, assembly of finals from parts,
expiry, termination and ranged reads, and it reports what happens on the event seam.
Adapters translate their protocol's requests into these calls and the engine's errors
into their answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from tuskit.persist.composer import StoreComposer
from tuskit.persist.ids import new_id
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import HeldLock, LockProbe, LockTimeout, Release

from .appender import Appended, Ending, append_body
from .assembly import Assemblies, AssemblyOptions, Sweep
from .concat import Concatenation
from .digests import Verification
from .errors import (
    ChecksumMismatch,
    FinalUpload,
    Gone,
    Incomplete,
    InvalidRequest,
    Locked,
    NotFound,
    OffsetMismatch,
    TooLarge,
    Unavailable,
    Unreadable,
)
from .events import AccessMode, Events, EventType, NewUpload
from .expiry import Sweeper
from .inflight import Inflight
from .interrupt import Interrupt
from .options import EngineOptions

log = logging.getLogger("tuskit.upload")


def fence(lock: HeldLock) -> None:
    """Refuse to record anything once the upload's lock may belong to someone else (a
    lease that ran out while Redis was unreachable or the loop stalled, a PostgreSQL
    session that ended): the client asks for the offset and resumes. Bytes written
    meanwhile lie beyond the recorded offset, where the next writer cuts them."""
    if not lock.still_held():
        raise Unavailable(
            "this server lost the upload's lock before it could record the new offset; retry"
        )


class Engine:
    """Uploads on a StoreComposer; one per process, shared by every protocol adapter."""

    def __init__(
        self,
        stores: StoreComposer,
        options: EngineOptions | None = None,
        *,
        events: Events | None = None,
        inflight: Inflight | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stores = stores
        self.options = options if options is not None else EngineOptions()
        self.events = events if events is not None else Events()
        self.inflight = inflight if inflight is not None else Inflight()
        self.clock = clock
        self.concat = Concatenation(stores, self.options)
        # Decided once: a runtime_checkable isinstance costs microseconds per request.
        locker = stores.locker
        self._lock_probe = locker.busy if isinstance(locker, LockProbe) else None
        self._assemblies: Assemblies | None = None
        self._sweeps: list[Sweep] = []

    # -- what the stores offer --------------------------------------------------------

    @property
    def can_terminate(self) -> bool:
        return self.stores.terminator is not None

    @property
    def can_concatenate(self) -> bool:
        return self.stores.concatenator is not None

    @property
    def can_read(self) -> bool:
        return self.stores.reader is not None

    # -- state ------------------------------------------------------------------------

    async def load(self, upload_id: str, mode: AccessMode | None = None) -> UploadInfo:
        """The active upload, or NotFound / Gone. With `mode` the request is one on an
        existing upload, so the `pre_access` gates decide first."""
        info = await self.stores.metadata.get(upload_id)
        if info is None:
            raise NotFound(f"upload {upload_id} does not exist")
        if info.state is not UploadState.ACTIVE:
            raise Gone(f"upload {upload_id} was {info.state.value}", info.state)
        if self.is_expired(info):
            raise Gone(f"upload {upload_id} expired", UploadState.EXPIRED)
        if mode is not None and self.events.gates:
            await self.events.pre_access(info, mode)
        return info

    def is_expired(self, info: UploadInfo) -> bool:
        return (
            info.expires_at is not None and not info.is_complete and info.expires_at <= self.clock()
        )

    def expires_at(self, info: UploadInfo) -> float | None:
        """When an unfinished upload expires; None once complete or when nothing expires."""
        if info.expires_at is None or info.is_complete:
            return None
        return info.expires_at

    def _next_expiry(self, now: float) -> float | None:
        after = self.options.expire_after
        return now + after if after > 0 else None

    def _check_length(self, length: int) -> None:
        limit = self.options.max_size
        if limit is not None and length > limit:
            raise TooLarge(f"the upload's length {length} exceeds the size limit {limit}")

    def _limit(self, info: UploadInfo) -> int | None:
        """Bytes the upload may still take."""
        if info.length is not None:
            return max(0, info.length - info.offset)
        if self.options.max_size is not None:
            return max(0, self.options.max_size - info.offset)
        return None

    def _accepting(self) -> None:
        if self.inflight.draining:
            raise Unavailable("server is shutting down")

    async def status(self, upload_id: str) -> UploadInfo:
        """The recorded state, which is the offset the next append must send. A running
        append is never disturbed while healthy; a stalled one is asked to record what
        it received first. A final whose completion was missed is completed here."""
        info = await self.load(upload_id, AccessMode.READ)
        if await self._settle(info.id):
            info = await self.load(info.id)
        if info.is_final and not info.is_complete:
            # A completion missed by a crash or a busy lock is retried here.
            await self._complete_final(info.id)
            info = await self.load(info.id)
        return info

    async def _settle(self, upload_id: str) -> bool:
        """If an append holds the upload and is stalled, let it record what it received;
        True when it let go. Costs one probe when nobody holds the upload."""
        if self._lock_probe is not None and not await self._lock_probe(upload_id):
            return False
        try:
            lock = await self.stores.locker.acquire(
                upload_id,
                timeout=min(self.options.lock_timeout, self.options.settle_timeout),
                on_release_request=_ignore,
                ask=Release.IF_STALLED,
            )
        except LockTimeout:
            return False  # healthy (or a crashed instance's lease): the recorded offset
        await lock.release()
        return True

    def _interrupt(self) -> Interrupt:
        idle = self.options.idle_timeout
        return Interrupt(stall_after=self.options.stall_timeout, idle_after=idle or None)

    async def _lock(
        self, upload_id: str, interrupt: Interrupt, ask: Release = Release.STOP
    ) -> HeldLock:
        try:
            held = await self.stores.locker.acquire(
                upload_id,
                timeout=self.options.lock_timeout,
                on_release_request=interrupt.request,
                ask=ask,
            )
        except LockTimeout as exc:
            raise Locked(f"upload {upload_id} is locked by another request; retry later") from exc
        interrupt.last = time.monotonic()  # stalls count from when the lock is ours
        return held

    # -- creation ---------------------------------------------------------------------

    async def create(
        self,
        *,
        length: int | None,
        metadata: tuple[tuple[str, str], ...] = (),
        is_partial: bool = False,
        body: AsyncIterator[bytes] | None = None,
        content_length: int | None = None,
        verify: Verification | None = None,
    ) -> UploadInfo:
        """A new upload, with its first bytes when `body` is given.

        With a body, nothing is locked or recorded while it streams: nobody else knows
        the id until the answer carries it. A failed check deletes the bytes and records
        nothing; a body stopped by shutdown is still recorded with what arrived, so the
        client can resume.
        """
        self._accepting()
        if length is not None:
            self._check_length(length)
        new = NewUpload(id=new_id(), length=length, metadata=metadata, is_partial=is_partial)
        if self.events.gates:
            new = await self.events.pre_create(new)
        now = self.clock()
        info = UploadInfo(
            id=new.id,
            length=new.length,
            metadata=new.metadata,
            is_partial=new.is_partial,
            created_at=now,
            updated_at=now,
            expires_at=self._next_expiry(now),
            storage=new.storage,
        )
        storage = await self.stores.byte_store.create(info)
        info = info.replace(storage=storage or info.storage)
        if body is None:
            await self.stores.metadata.create(info)
            self.events.emit(EventType.CREATED, info, now)
            return info
        return await self._create_with_body(info, body, content_length, verify)

    async def _create_with_body(
        self,
        info: UploadInfo,
        body: AsyncIterator[bytes],
        content_length: int | None,
        verify: Verification | None,
    ) -> UploadInfo:
        limit = self._limit(info)
        if content_length is not None and limit is not None and content_length > limit:
            await self._discard_new(info)
            raise TooLarge("the body passes the upload's length")
        try:
            info, appended = await self._append(info, body, self._interrupt(), verify)
        except BaseException:
            await self._discard_new(info)  # never recorded: leave no bytes behind
            raise
        if appended.checksum_failed or appended.ending is Ending.TOO_LARGE:
            await self._discard_new(info)
            self._raise_for_ending(info, appended)
        await self.stores.metadata.create(info)
        self.events.emit(EventType.CREATED, info, info.created_at)
        if info.offset:
            self.events.emit(EventType.PROGRESS, info, info.updated_at)
        if info.is_complete:
            await self._finished(info)
        return info

    async def _discard_new(self, info: UploadInfo) -> None:
        """Remove the bytes of an upload that was never recorded."""
        if self.stores.terminator is not None:
            try:
                await self.stores.terminator.delete(info)
            except Exception:
                log.exception("could not delete the bytes of unrecorded upload %s", info.id)

    async def create_final(
        self, partial_ids: Sequence[str], metadata: tuple[tuple[str, str], ...] = ()
    ) -> UploadInfo:
        """A final upload joining `partial_ids` in order, complete as soon as they are."""
        self._accepting()
        new = NewUpload(id=new_id(), length=None, metadata=metadata, partials=tuple(partial_ids))
        if self.events.gates:
            new = await self.events.pre_create(new)
        now = self.clock()
        info = await self.concat.create_final(new.id, partial_ids, new.metadata, now)
        self.events.emit(EventType.CREATED, info, now)
        if info.is_complete:
            self.events.emit(EventType.FINISHED, info, now)
        return info

    # -- appending --------------------------------------------------------------------

    async def append(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterator[bytes],
        *,
        length: int | None = None,
        content_length: int | None = None,
        verify: Verification | None = None,
    ) -> UploadInfo:
        """Append `body` at `offset` under the upload's lock; returns the recorded state.

        `length` fixes a deferred length. What arrived is kept when the body is cut or
        the append is asked to let go (then Unavailable, after recording); a body that
        fails its promised digest is dropped whole (ChecksumMismatch).

        A running append on the same upload is not disturbed while it is healthy. It is
        superseded (stopped now, its unrecorded bytes dropped) by an append at the
        recorded offset: the client's retry after losing the connection, sending those
        bytes again. An append at any other offset waits for the running one to finish
        or stall (`stall_timeout` without bytes), then is told the offset (409) or 423.
        """
        self._accepting()
        info = await self.load(upload_id, AccessMode.WRITE)
        if info.is_final:
            raise FinalUpload("a final upload of a concatenation cannot be appended to")
        interrupt = self._interrupt()
        ask = Release.SUPERSEDE if offset == info.offset else Release.IF_STALLED
        lock = await self._lock(info.id, interrupt, ask)
        try:
            info = await self.load(upload_id)  # the offset may have moved while we waited
            was_complete = info.is_complete
            if offset != info.offset:
                raise OffsetMismatch(
                    f"offset {offset} does not match the upload's offset {info.offset}",
                    info.offset,
                )
            info = await self._apply_length(info, length, lock)
            limit = self._limit(info)
            if content_length is not None and limit is not None and content_length > limit:
                raise TooLarge(
                    f"a body of {content_length} bytes passes the upload's length "
                    f"({limit} bytes left)"
                )
            before = info.offset
            info, appended = await self._append(info, body, interrupt, verify)
            if info.offset != before:
                fence(lock)
                await self.stores.metadata.save(info)  # bytes are durable: move the offset
        finally:
            await lock.release()
        if info.offset != before:
            self.events.emit(EventType.PROGRESS, info, info.updated_at)
        if info.is_complete and not was_complete:
            # Also when an empty append only fixed a deferred length that completes it.
            await self._finished(info)
        self._raise_for_ending(info, appended)
        return info

    async def _append(
        self,
        info: UploadInfo,
        body: AsyncIterator[bytes],
        interrupt: Interrupt,
        verify: Verification | None,
    ) -> tuple[UploadInfo, Appended]:
        """Stream `body` at `info.offset` (lock held, or an unpublished id); returns the
        record with the new offset, committed to the byte store but not yet saved."""
        limit = self._limit(info)
        writer = await self.stores.byte_store.open_writer(info)
        self.inflight.add(interrupt)
        try:
            appended = await append_body(
                body, writer, limit=limit, interrupt=interrupt, verify=verify
            )
        finally:
            self.inflight.discard(interrupt)
        if appended.offset >= 0 and appended.offset != info.offset:
            now = self.clock()
            info = info.replace(offset=appended.offset, updated_at=now)
            if not info.is_complete:
                info = info.replace(expires_at=self._next_expiry(now))
        return info, appended

    async def _apply_length(
        self, info: UploadInfo, length: int | None, lock: HeldLock
    ) -> UploadInfo:
        """A deferred length is fixed by the first append that knows it."""
        if length is None:
            return info
        if info.length is not None:
            if length != info.length:
                raise InvalidRequest(
                    f"length {length} differs from the upload's length {info.length}"
                )
            return info
        if length < info.offset:
            raise InvalidRequest(f"length {length} is below the offset {info.offset}")
        self._check_length(length)
        info = info.replace(length=length, updated_at=self.clock())
        fence(lock)
        await self.stores.metadata.save(info)
        return info

    def _raise_for_ending(self, info: UploadInfo, appended: Appended) -> None:
        """Turn how the body ended into the engine's answer (after state is saved)."""
        if appended.checksum_failed:
            raise ChecksumMismatch(
                "the body does not match its digest; it was discarded", info.offset
            )
        if appended.ending is Ending.TOO_LARGE:
            raise TooLarge(f"the body passes the upload's length; offset stays at {info.offset}")
        if appended.ending is Ending.STOPPED:
            raise Unavailable(
                f"upload handed to another request or the server is stopping; "
                f"offset is {info.offset}",
                offset=info.offset,
            )

    async def _finished(self, info: UploadInfo) -> None:
        """The upload just completed: decide, report, and complete finals waiting on it."""
        if self.events.gates:
            await self.events.pre_finish(info)
        self.events.emit(EventType.FINISHED, info, info.updated_at)
        if info.is_partial:
            for final in await self.concat.partial_completed(info.id):
                self.events.emit(EventType.FINISHED, final, self.clock())

    async def _complete_final(self, final_id: str) -> None:
        final = await self.concat.complete_if_ready(final_id)
        if final is not None:
            self.events.emit(EventType.FINISHED, final, self.clock())

    # -- expiry -----------------------------------------------------------------------

    def sweeper(self, interval: float) -> Sweeper:
        """The background task expiring this engine's uploads, reporting each one (and
        running the sweeps added with `add_sweep`)."""
        return Sweeper(
            self.stores, interval, clock=self.clock, on_expired=self._expired, also=self._sweeps
        )

    def add_sweep(self, sweep: Sweep) -> None:
        """Run `sweep(now)` on every pass of the sweeper (e.g. expiring assemblies)."""
        self._sweeps.append(sweep)

    # -- assembly from parts (engine/assembly.py) -----------------------------------------

    def assemblies(self, options: AssemblyOptions | None = None) -> Assemblies:
        """Uploads assembled from parts (session uploads), created once; its sweep runs
        with the engine's. ValueError when the stores offer no parts."""
        if self._assemblies is None:
            self._assemblies = Assemblies(self, options)
            self.add_sweep(self._assemblies.sweep)
        return self._assemblies

    def _expired(self, info: UploadInfo) -> None:
        self.events.emit(EventType.EXPIRED, info, self.clock())

    # -- termination ------------------------------------------------------------------

    async def terminate(self, upload_id: str) -> None:
        """Stop any running append, then remove the upload (a tombstone stays)."""
        info = await self.load(upload_id, AccessMode.WRITE)
        lock = await self._lock(info.id, Interrupt(), Release.STOP)
        try:
            info = await self.load(upload_id)
            if self.events.gates:
                await self.events.pre_terminate(info)
            fence(lock)
            await self._remove(info, UploadState.TERMINATED)
        finally:
            await lock.release()
        self.events.emit(EventType.TERMINATED, info, self.clock())

    async def _remove(self, info: UploadInfo, state: UploadState) -> None:
        """Tombstone first, bytes second: a crash in between leaves an orphan for
        recovery to remove, never an active record whose bytes are gone."""
        await self.stores.metadata.mark(info.id, state, self.clock())
        if self.stores.terminator is not None:
            await self.stores.terminator.delete(info)

    # -- reading ----------------------------------------------------------------------

    def check_readable(self, info: UploadInfo) -> None:
        """Unreadable / Incomplete unless the bytes can be served now."""
        reader = self.stores.reader
        if reader is None:
            raise Unreadable("this store cannot serve downloads")
        if not info.is_complete and not reader.serves_unfinished:
            raise Incomplete("this store serves an upload once it is complete", info.offset)

    def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the upload, streamed; the reader is closed even when
        the consumer stops early. Takes no lock: bytes below the offset never change."""
        reader = self.stores.reader
        if reader is None:
            raise Unreadable("this store cannot serve downloads")
        return _closing(reader.read(info, start, end))


def _ignore(kind: Release) -> None:
    """A status request holds the lock for microseconds: nothing to stop."""


async def _closing(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass chunks through and close the source even when the client goes away."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                log.debug("closing a reader failed", exc_info=True)
