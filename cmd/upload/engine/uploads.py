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

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from functools import partial

from tuskit.persist.composer import StoreComposer
from tuskit.persist.ids import new_id
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import (
    BytesMissing,
    Checkpointing,
    HeldLock,
    LockProbe,
    LockTimeout,
    Release,
)

from .appender import Appended, Ending, append_body
from .assembly import Assemblies, AssemblyOptions, Sweep
from .checkpoints import Checkpoints, Progress
from .concat import Concatenation
from .digests import Verification
from .errors import (
    ChecksumMismatch,
    FinalUpload,
    Gone,
    Incomplete,
    InsufficientStorage,
    InvalidRequest,
    Locked,
    NotFound,
    OffsetMismatch,
    TooLarge,
    Unavailable,
    Unreadable,
    is_storage_full,
)
from .events import AccessMode, Events, EventType, NewUpload
from .expiry import Sweeper
from .inflight import Inflight
from .interrupt import Interrupt
from .options import EngineOptions
from .reading import open_read
from .reconcile import lower_to_stored
from .retention import Retention
from .whole import create_whole

log = logging.getLogger("tuskit.upload")


class _Recorded:
    """The upload as last recorded during one append (checkpoints move it)."""

    __slots__ = ("info",)

    def __init__(self, info: UploadInfo) -> None:
        self.info = info


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
        self.retention = Retention(stores, clock)
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

    def _check_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata)
        if size > self.options.max_metadata_size:
            raise InvalidRequest(
                f"metadata of {size} bytes passes the limit of {self.options.max_metadata_size}"
            )

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

    async def status(self, upload_id: str, *, stop_running: bool = False) -> UploadInfo:
        """The recorded state, which is the offset the next append must send. By default
        a running append is never disturbed while healthy (progress polling must not stall
        uploads) and a stalled one is asked to record what it received first. With
        `stop_running` (a protocol whose clients ask only after a transfer failed, and
        which promises that the offset it reports is accepted next: the IETF draft) a
        running append is stopped, keeping what arrived, before the state is read. A final
        whose completion was missed is completed here."""
        info = await self.load(upload_id, AccessMode.READ)
        settled = await (self._stop_running(info.id) if stop_running else self._settle(info.id))
        if settled:
            info = await self.load(info.id)
        if info.is_final and not info.is_complete:
            # A completion missed by a crash or a busy lock is retried here.
            await self._complete_final(info.id)
            info = await self.load(info.id)
        return info

    async def _settle(self, upload_id: str) -> bool:
        """If an append holds the upload and is stalled, let it record what it received;
        True when the record may have moved since it was read (it let go, or it kept
        recording checkpoints while we waited). A healthy append of this process costs
        nothing (no wait); otherwise one probe when nobody holds the upload."""
        local = self.inflight.running(upload_id)
        if local is not None:
            if not local.stalled:
                return False
            timeout = self.options.settle_timeout
        else:
            if self._lock_probe is not None and not await self._lock_probe(upload_id):
                return False
            timeout = self.options.remote_settle_timeout
        try:
            lock = await self.stores.locker.acquire(
                upload_id,
                timeout=min(self.options.lock_timeout, timeout),
                on_release_request=_ignore,
                ask=Release.IF_STALLED,
            )
        except LockTimeout:
            return True  # healthy (or a crashed instance's lease): the recorded offset
        await lock.release()
        return True

    async def _stop_running(self, upload_id: str) -> bool:
        """Stop a running append (it records what arrived); True when one may have run."""
        if self.inflight.running(upload_id) is None and (
            self._lock_probe is not None and not await self._lock_probe(upload_id)
        ):
            return False
        try:
            lock = await self.stores.locker.acquire(
                upload_id,
                timeout=min(self.options.lock_timeout, self.options.settle_timeout),
                on_release_request=_ignore,
                ask=Release.STOP,
            )
        except LockTimeout:
            return True  # a holder that does not answer (a crashed instance's lease)
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
        whole: bool = False,
    ) -> UploadInfo:
        """A new upload, with its first bytes when `body` is given.

        With a body, nothing is locked or recorded while it streams: nobody else knows
        the id until the answer carries it. A failed check deletes the bytes and records
        nothing; a body stopped by shutdown is still recorded with what arrived, so the
        client can resume.

        `whole=True` is all-or-nothing (see `whole.create_whole`): the body is the whole
        upload (`length` is learned from it, pass None), recorded complete once every byte
        is durable, and nothing at all is stored when it does not arrive whole.
        """
        with _full_is_507():
            if whole:
                return await create_whole(
                    self,
                    metadata=metadata,
                    body=body if body is not None else _no_body(),
                    content_length=content_length,
                    verify=verify,
                )
            return await self._create(length, metadata, is_partial, body, content_length, verify)

    async def _create(
        self,
        length: int | None,
        metadata: tuple[tuple[str, str], ...],
        is_partial: bool,
        body: AsyncIterator[bytes] | None,
        content_length: int | None,
        verify: Verification | None,
    ) -> UploadInfo:
        self._accepting()
        if length is not None:
            self._check_length(length)
        self._check_metadata(metadata)
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
        self._check_metadata(metadata)
        most = self.options.max_concat_parts
        if len(partial_ids) > most:
            raise InvalidRequest(
                f"a final upload may join at most {most} partial uploads, not {len(partial_ids)}"
            )
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
        completes: bool = False,
        announce: Callable[[UploadInfo], Awaitable[None]] | None = None,
        progress: Progress | None = None,
    ) -> UploadInfo:
        """Append `body` at `offset` under the upload's lock; returns the recorded state.

        `length` fixes a deferred length. What arrived is kept when the body is cut or
        the append is asked to let go (then Unavailable, after recording); a body that
        fails its promised digest is dropped whole (ChecksumMismatch).

        `completes`: the body is the rest of the upload, so once it arrived whole the
        upload's length is its offset (InvalidRequest, bytes kept, when a known length
        says otherwise). `announce` is awaited under the lock before the body is read
        (a protocol telling the client where the upload lives). `progress` records what
        arrived at checkpoints during a long body (not when a digest was promised).

        A running append on the same upload is not disturbed while it is healthy. It is
        superseded (stopped now, its unrecorded bytes dropped) by an append at the
        recorded offset: the client's retry after losing the connection, sending those
        bytes again. An append at any other offset waits for the running one to finish
        or stall (`stall_timeout` without bytes), then is told the offset (409) or 423.
        """
        with _full_is_507():
            return await self._append_locked(
                upload_id,
                offset,
                body,
                length,
                content_length,
                verify,
                completes,
                announce,
                progress,
            )

    async def _append_locked(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterator[bytes],
        length: int | None,
        content_length: int | None,
        verify: Verification | None,
        completes: bool,
        announce: Callable[[UploadInfo], Awaitable[None]] | None,
        progress: Progress | None,
    ) -> UploadInfo:
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
            if announce is not None:
                await announce(info)
            recorded = _Recorded(info)
            try:
                info, appended = await self._append(
                    info, body, interrupt, verify, lock, recorded, progress
                )
            except BytesMissing as missing:  # an OS crash took bytes: resume from what's left
                fence(lock)
                now = self.clock()
                raise await lower_to_stored(
                    self.stores, info, missing, now, self._next_expiry(now)
                ) from missing
            if appended.offset < 0:
                info = recorded.info  # dropped what came after the last checkpoint
            elif info.offset != recorded.info.offset:
                fence(lock)
                try:
                    await self.stores.metadata.save(info)  # bytes are durable: move the offset
                except Exception:
                    await self._cut_back(recorded.info)
                    raise
            short = None
            if completes and appended.ending is Ending.COMPLETE and not appended.checksum_failed:
                info, short = await self._complete(info, lock)
        finally:
            await lock.release()
        if info.offset != recorded.info.offset:
            self.events.emit(EventType.PROGRESS, info, info.updated_at)
        if info.is_complete and not was_complete:
            # Also when an empty append only fixed a deferred length that completes it.
            await self._finished(info)
        self._raise_for_ending(info, appended)
        if short is not None:
            raise InvalidRequest(short)
        return info

    async def _complete(self, info: UploadInfo, lock: HeldLock) -> tuple[UploadInfo, str | None]:
        """The body that arrived whole was the rest of the upload: its length is its
        offset. Returns the record and, when a known length disagrees, why (bytes kept)."""
        if info.length is None:
            info = info.replace(length=info.offset, updated_at=self.clock())
            fence(lock)
            await self.stores.metadata.save(info)
            return info, None
        if info.offset != info.length:
            return info, f"the upload ends at {info.offset} bytes but its length is {info.length}"
        return info, None

    async def _append(
        self,
        info: UploadInfo,
        body: AsyncIterator[bytes],
        interrupt: Interrupt,
        verify: Verification | None,
        lock: HeldLock | None = None,
        recorded: _Recorded | None = None,
        progress: Progress | None = None,
    ) -> tuple[UploadInfo, Appended]:
        """Stream `body` at `info.offset` (lock held, or an unpublished id); returns the
        record with the new offset, committed to the byte store but not yet saved.

        With the lock held and a writer that can checkpoint, the durable prefix is
        recorded (into `recorded`) every `checkpoint_every` bytes, so a crash in a long
        body loses only its last window, and every `progress.every` seconds when a
        protocol promises progress (see checkpoints.py)."""
        limit = self._limit(info)
        writer = await self.stores.byte_store.open_writer(info)
        checkpoints = None
        every = self.options.checkpoint_every
        if (
            lock is not None
            and recorded is not None
            and isinstance(writer, Checkpointing)
            and (every > 0 or progress is not None)
        ):
            checkpoints = Checkpoints(
                partial(self._checkpoint, writer, lock, recorded, progress),
                every,
                progress.every if progress is not None else None,
            )
        self.inflight.add(interrupt, info.id)
        try:
            appended = await append_body(
                body,
                writer,
                limit=limit,
                interrupt=interrupt,
                verify=verify,
                checkpoints=checkpoints,
            )
        finally:
            self.inflight.discard(interrupt)
        if appended.offset >= 0 and appended.offset != info.offset:
            info = self._moved(info, appended.offset)
        return info, appended

    def _moved(self, info: UploadInfo, offset: int) -> UploadInfo:
        now = self.clock()
        info = info.replace(offset=offset, updated_at=now)
        # A finished upload never expires; keeping its old expiry made sweeps walk it.
        return info.replace(expires_at=None if info.is_complete else self._next_expiry(now))

    async def _checkpoint(
        self,
        writer: Checkpointing,
        lock: HeldLock,
        recorded: _Recorded,
        progress: Progress | None,
    ) -> None:
        end = await writer.checkpoint()
        if end <= recorded.info.offset:
            return
        fence(lock)
        info = self._moved(recorded.info, end)
        await self.stores.metadata.save(info)
        recorded.info = info
        self.events.emit(EventType.PROGRESS, info, info.updated_at)
        if progress is not None:
            await progress.recorded(info)

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

    async def _cut_back(self, recorded: UploadInfo) -> None:
        """The offset could not be recorded (a full disk under the state store): drop the
        bytes past the recorded offset now rather than at the next append, so the space
        is free for the requests that would make room (lock held)."""
        try:
            writer = await self.stores.byte_store.open_writer(recorded)
            await writer.discard()
        except Exception:
            log.warning("could not cut upload %s back to %d", recorded.id, recorded.offset)

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
        """The background task expiring this engine's uploads, reporting each one,
        deleting the bytes of deleted uploads whose last reader is done, and running the
        sweeps added with `add_sweep`."""
        return Sweeper(
            self.stores,
            interval,
            clock=self.clock,
            on_expired=self._expired,
            also=(self._reclaim, *self._sweeps),
        )

    async def _reclaim(self, now: float) -> None:
        await self.retention.reclaim()

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
        await self.retention.remove_bytes(info)  # now, or after the running reads

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

    async def open_read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        """Like `read`, but the bytes are already flowing when it returns (NotFound / Gone
        if they went away first), and a delete meanwhile lets the read finish whole."""
        return await open_read(self.retention, info, start, end)


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


@contextlib.contextmanager
def _full_is_507() -> Iterator[None]:
    """A full store refuses the request as InsufficientStorage; what it wrote is undone
    like any failed write (the recorded offset never moved)."""
    try:
        yield
    except Exception as exc:
        if is_storage_full(exc):
            raise InsufficientStorage(
                "the server's storage is full; nothing of this request was kept, retry later"
            ) from exc
        raise


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
