"""Assembly from parts: an upload of known length whose bytes arrive as fixed-size parts
at known offsets, in any order and in parallel, then become one upload without copying.

Protocol-neutral (a session upload is one assembly; its attachment the upload it becomes).
The rules every caller gets:
- A part is all or nothing (engine/parts.py). Before a part is rewritten it is un-recorded,
  and it is recorded only after its bytes are durable, so a part cut short by a crash or
  a closed connection is simply absent. One writer per part (a lock per part): a newer
  request for the same part supersedes the running one (a client's retry).
- The state store records a part, or clears one, only while the assembly is ACTIVE, in
  one atomic step; completion first moves the assembly to COMPLETING, so no part can
  change under an assembly being joined. Completion and abandonment take the assembly's
  own lock.
- Interrupted work is recorded before it starts (COMPLETING, ABORTING, EXPIRING): a
  completion retried after a crash, or the sweep, finishes it. Completion is idempotent
  at every step (assemble, record the upload, settle), so it never joins twice and never
  loses the result; a completed assembly answers with the same upload again.
- Expiry: an unfinished assembly past `expires_at` (each stored part moves it forward)
  is removed by the sweep (EXPIRING, then its parts, then EXPIRED); settled records are
  forgotten after `tombstone_ttl`.
Hooks and metrics see assemblies through the engine's events (created, progress,
finished, terminated, expired) and gates, as uploads: the event's upload is the one the
assembly becomes (its id, length, metadata; `offset` = bytes stored so far).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuskit.persist.assembly import UNSETTLED, Assembly, AssemblyState, StoredPart
from tuskit.persist.ids import new_id
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import (
    AssemblyStore,
    HeldLock,
    LockTimeout,
    PartStore,
    Release,
    StoreError,
    UploadExists,
)

from .digests import ALGORITHMS, Expected, Verification
from .errors import (
    AlreadyComplete,
    AssembledDigestMismatch,
    ChecksumMismatch,
    Gone,
    InvalidRequest,
    Locked,
    MissingParts,
    NotFound,
    PartLengthMismatch,
    PartOutOfRange,
)
from .events import AccessMode, EventType, NewUpload
from .interrupt import Interrupt
from .parts import write_part

if TYPE_CHECKING:
    from .uploads import Engine

log = logging.getLogger("tuskit.upload.assembly")

MiB = 1024 * 1024
DEFAULT_TOMBSTONE_TTL = 7 * 24 * 3600.0
_HASH_BATCH = 8 * MiB


@dataclass(frozen=True, slots=True)
class AssemblyOptions:
    part_size: int = 8 * MiB
    """Preferred part size; raised to the byte store's minimum part (and so that the
    length fits its part limit), never lowered for a short upload."""
    expire_after: float = 24 * 3600.0
    """Seconds an unfinished assembly lives after its last stored part; 0 never expires."""
    tombstone_ttl: float = DEFAULT_TOMBSTONE_TTL
    """How long a settled assembly is remembered (410 for aborted, the same upload again
    for a completed one)."""


@dataclass(frozen=True, slots=True)
class AssemblyStatus:
    assembly: Assembly
    received: tuple[int, ...]

    @property
    def missing(self) -> list[int]:
        have = set(self.received)
        return [i for i in range(self.assembly.part_count) if i not in have]


@dataclass(frozen=True, slots=True)
class StoredResult:
    assembly: Assembly
    index: int
    size: int
    received: int
    """Parts stored so far."""


@dataclass(frozen=True, slots=True)
class Completion:
    assembly: Assembly
    upload: UploadInfo
    first: bool
    """True for the request that completed it; False when it was already completed."""


@dataclass(slots=True)
class AssemblySweep:
    expired: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    purged: int = 0


def encode_digest(expected: Expected) -> str:
    return f"{expected.algorithm}:{base64.b64encode(expected.digest).decode()}"


def decode_digest(text: str) -> Expected:
    algorithm, _, value = text.partition(":")
    return Expected(algorithm, base64.b64decode(value))


def _ignore(kind: Release) -> None:
    """Completion and abandonment are short (or must not be stopped halfway)."""


class Assemblies:
    """Assemblies on an Engine's stores; get it with `engine.assemblies(options)`."""

    def __init__(self, engine: Engine, options: AssemblyOptions | None = None) -> None:
        store, parts = engine.stores.assemblies, engine.stores.parts
        if store is None or parts is None:
            raise ValueError(
                "assembly from parts needs an assembly store and a byte store with parts"
            )
        self.engine = engine
        self.store: AssemblyStore = store
        self.parts: PartStore = parts
        self.options = options if options is not None else AssemblyOptions()

    # -- sizes and views ----------------------------------------------------------------

    def part_size_for(self, length: int) -> int:
        """The configured part size, at least the store's minimum, a multiple of its
        alignment, and large enough that `length` fits the store's part limit."""
        size = max(self.options.part_size, self.parts.min_part_size)
        limit = self.parts.max_parts
        if limit is not None and length > size * limit:
            size = -(-length // limit)
            size = -(-size // MiB) * MiB
        align = self.parts.part_alignment
        return -(-size // align) * align

    def view(self, a: Assembly, offset: int = 0) -> UploadInfo:
        """The upload an assembly becomes, as events and gates see it."""
        return a.target(offset)

    def _now(self) -> float:
        return self.engine.clock()

    def _next_expiry(self, now: float) -> float | None:
        after = self.options.expire_after
        return now + after if after > 0 else None

    # -- lifecycle --------------------------------------------------------------------

    async def begin(
        self,
        length: int,
        metadata: tuple[tuple[str, str], ...] = (),
        digest: Expected | None = None,
    ) -> Assembly:
        """A new assembly of `length` bytes (TooLarge over the engine's size limit)."""
        engine = self.engine
        engine._accepting()
        if length < 0:
            raise InvalidRequest("the length must not be negative")
        engine._check_length(length)
        if digest is not None and digest.algorithm not in ALGORITHMS:
            raise InvalidRequest(f"digest algorithm {digest.algorithm!r} is not supported")
        new = NewUpload(id=new_id(), length=length, metadata=metadata)
        if engine.events.gates:
            new = await engine.events.pre_create(new)
            if await engine.stores.metadata.get(new.id) is not None:
                raise InvalidRequest(f"upload id {new.id} is taken")
        now = self._now()
        a = Assembly(
            id=new_id(),
            upload_id=new.id,
            length=length,
            part_size=self.part_size_for(length),
            metadata=new.metadata,
            digest=None if digest is None else encode_digest(digest),
            created_at=now,
            updated_at=now,
            expires_at=self._next_expiry(now),
            storage=new.storage,
        )
        storage = await self.parts.begin_parts(a.target(), a.part_size)
        a = a.replace(storage=storage or a.storage)
        # A crash between the two leaves parts storage nobody knows (an S3 multipart
        # upload: the bucket's lifecycle rule for incomplete uploads removes it).
        await self.store.create_assembly(a)
        engine.events.emit(EventType.CREATED, self.view(a), now)
        return a

    async def load(self, assembly_id: str, mode: AccessMode | None = None) -> Assembly:
        """The assembly, or NotFound / Gone (abandoned: TERMINATED; expired: EXPIRED).
        With `mode` the request is one on an existing upload: gates decide first."""
        a = await self.store.get_assembly(assembly_id)
        if a is None:
            raise NotFound(f"assembly {assembly_id} does not exist")
        if a.state in (AssemblyState.ABORTING, AssemblyState.ABORTED):
            raise Gone(f"assembly {assembly_id} was abandoned", UploadState.TERMINATED)
        if a.state in (AssemblyState.EXPIRING, AssemblyState.EXPIRED) or self._lapsed(a):
            raise Gone(f"assembly {assembly_id} expired", UploadState.EXPIRED)
        if mode is not None and self.engine.events.gates:
            await self.engine.events.pre_access(self.view(a), mode)
        return a

    def _lapsed(self, a: Assembly) -> bool:
        return (
            a.state is AssemblyState.ACTIVE
            and a.expires_at is not None
            and a.expires_at <= self._now()
        )

    async def status(self, assembly_id: str) -> AssemblyStatus:
        a = await self.load(assembly_id, AccessMode.READ)
        if a.state is AssemblyState.COMPLETED:
            return AssemblyStatus(a, tuple(range(a.part_count)))
        parts = await self.store.stored_parts(a.id)
        return AssemblyStatus(a, tuple(p.index for p in parts))

    async def upload_of(self, a: Assembly) -> UploadInfo | None:
        """The upload a completed assembly became (None if it was deleted since)."""
        info = await self.engine.stores.metadata.get(a.upload_id)
        return info if info is not None and info.state is UploadState.ACTIVE else None

    # -- parts ------------------------------------------------------------------------

    async def write(
        self,
        assembly_id: str,
        index: int,
        body: AsyncIterator[bytes],
        *,
        content_length: int | None = None,
        verify: Verification | None = None,
    ) -> StoredResult:
        """Store part `index` from `body` (replacing an earlier copy), all or nothing."""
        engine = self.engine
        engine._accepting()
        a = await self.load(assembly_id, AccessMode.WRITE)
        self._writable(a)
        if not 0 <= index < a.part_count:
            raise PartOutOfRange(
                f"part {index} is out of range: the assembly has {a.part_count} parts"
                f" (0-{a.part_count - 1})",
                a.part_count,
            )
        start, end = a.span(index)
        size = end - start
        if content_length is not None and content_length != size:
            raise PartLengthMismatch(
                f"part {index} holds exactly {size} bytes, not {content_length}", size
            )
        interrupt = engine._interrupt()
        lock = await self._lock(f"{a.id}-p{index}", Release.SUPERSEDE, interrupt)
        try:
            if not await self.store.clear_part(a.id, index):
                self._writable(await self.load(a.id))
                raise AlreadyComplete(f"assembly {a.id} is no longer active")
            receipt = await self._write(a, index, start, size, body, interrupt, verify)
            engine_fence(lock)
            now = self._now()
            count = await self.store.put_part(
                a.id, StoredPart(index, size, receipt), now, self._next_expiry(now)
            )
            if count is None:
                self._writable(await self.load(a.id))
                raise AlreadyComplete(f"assembly {a.id} is no longer active")
        finally:
            await lock.release()
        if engine.events.listeners:
            received = sum(p.size for p in await self.store.stored_parts(a.id))
            engine.events.emit(EventType.PROGRESS, self.view(a, received), now)
        return StoredResult(a, index, size, count)

    async def _write(
        self,
        a: Assembly,
        index: int,
        start: int,
        size: int,
        body: AsyncIterator[bytes],
        interrupt: Interrupt,
        verify: Verification | None,
    ) -> str:
        inflight = self.engine.inflight
        try:
            writer = await self.parts.open_part(a.target(), index, start, size)
            inflight.add(interrupt)
            try:
                return await write_part(body, writer, size=size, interrupt=interrupt, verify=verify)
            finally:
                inflight.discard(interrupt)
        except StoreError:
            # Abandoned or expired meanwhile (its storage is gone): say so, not 500.
            self._writable(await self.load(a.id))
            raise

    def _writable(self, a: Assembly) -> None:
        if a.state is AssemblyState.COMPLETED:
            raise AlreadyComplete(f"assembly {a.id} is completed", a.upload_id)
        if a.state is AssemblyState.COMPLETING:
            raise AlreadyComplete(f"assembly {a.id} is being completed")

    async def _lock(self, key: str, ask: Release | None, interrupt: Interrupt | None) -> HeldLock:
        try:
            held = await self.engine.stores.locker.acquire(
                key,
                timeout=self.engine.options.lock_timeout,
                on_release_request=interrupt.request if interrupt is not None else _ignore,
                ask=ask,
            )
        except LockTimeout as exc:
            raise Locked("another request holds this assembly; retry later") from exc
        if interrupt is not None:
            interrupt.last = time.monotonic()
        return held

    # -- completion -------------------------------------------------------------------

    async def complete(self, assembly_id: str) -> Completion:
        """Join the parts into the upload (verified against the expected digest); the
        same upload again when already completed."""
        a = await self.load(assembly_id, AccessMode.WRITE)
        if a.state is AssemblyState.COMPLETED:
            return await self._completed(a)
        lock = await self._lock(a.id, None, None)
        try:
            a = await self.load(assembly_id)
            if a.state is AssemblyState.COMPLETED:
                return await self._completed(a)
            if a.state is AssemblyState.ACTIVE:
                await self._check_parts(a)
                if self.engine.events.gates:
                    await self.engine.events.pre_finish(self.view(a, a.length))
                moving = a.replace(state=AssemblyState.COMPLETING, updated_at=self._now())
                if not await self.store.swap_assembly(moving, frozenset({AssemblyState.ACTIVE})):
                    return await self.complete(assembly_id)  # changed meanwhile: look again
                a = moving
            return await self._finish(a)
        finally:
            await lock.release()

    async def _completed(self, a: Assembly) -> Completion:
        upload = await self.upload_of(a)
        if upload is None:
            raise AlreadyComplete(
                f"assembly {a.id} is completed; its upload was deleted since", a.upload_id
            )
        return Completion(a, upload, first=False)

    async def _check_parts(self, a: Assembly) -> list[StoredPart]:
        parts = await self.store.stored_parts(a.id)
        have = {p.index for p in parts}
        missing = [i for i in range(a.part_count) if i not in have]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (", ..." if len(missing) > 20 else "")
            raise MissingParts(f"{len(missing)} parts are missing: {shown}", missing)
        return parts

    async def _finish(self, a: Assembly) -> Completion:
        """Under the assembly's lock, state COMPLETING: every step may have run before a
        crash, so each one is idempotent."""
        try:
            parts = await self._check_parts(a)
        except MissingParts:
            # A rewrite cleared a part just before the switch: back to ACTIVE.
            await self._reactivate(a)
            raise
        target = a.target(a.length)
        await self.parts.assemble(target, parts)
        if a.digest is not None and not await self._verified(target, decode_digest(a.digest)):
            storage = await self.parts.reopen_parts(target)
            await self.store.clear_parts(a.id)
            await self._reactivate(a, storage)
            raise AssembledDigestMismatch(
                "the assembled upload does not match its expected digest; every part must"
                " be stored again",
                0,
            )
        now = self._now()
        upload = UploadInfo(
            id=a.upload_id,
            length=a.length,
            offset=a.length,
            metadata=a.metadata,
            created_at=a.created_at,
            updated_at=now,
            storage=target.storage,
        )
        try:
            await self.engine.stores.metadata.create(upload)
        except UploadExists:
            found = await self.engine.stores.metadata.get(upload.id)
            if found is None or found.length != a.length or found.offset != a.length:
                raise StoreError(f"upload id {upload.id} names another upload") from None
            upload = found  # recorded before a crash: the same upload
        await self.parts.finish_parts(target)
        done = a.replace(state=AssemblyState.COMPLETED, updated_at=now, expires_at=None)
        await self.store.swap_assembly(done, frozenset({AssemblyState.COMPLETING}))
        await self.store.clear_parts(a.id)
        self.engine.events.emit(EventType.FINISHED, upload, now)
        return Completion(done, upload, first=True)

    async def _reactivate(
        self, a: Assembly, storage: tuple[tuple[str, str], ...] | None = None
    ) -> None:
        now = self._now()
        back = a.replace(
            state=AssemblyState.ACTIVE,
            updated_at=now,
            expires_at=self._next_expiry(now),
            storage=a.storage if storage is None else storage,
        )
        await self.store.swap_assembly(back, frozenset({AssemblyState.COMPLETING}))

    async def _verified(self, target: UploadInfo, expected: Expected) -> bool:
        """Read the assembled bytes back and compare their digest (hashing in threads)."""
        reader = self.engine.stores.reader
        if reader is None:
            raise StoreError("this store cannot read assembled bytes back to verify them")
        hasher = ALGORITHMS[expected.algorithm]()
        batch: list[bytes] = []
        size = 0
        async for chunk in reader.read(target, 0, target.length or 0):
            batch.append(chunk)
            size += len(chunk)
            if size >= _HASH_BATCH:
                await asyncio.to_thread(hasher.update, b"".join(batch))
                batch, size = [], 0
        if batch:
            await asyncio.to_thread(hasher.update, b"".join(batch))
        return hasher.digest() == expected.digest

    # -- abandonment ------------------------------------------------------------------

    async def abandon(self, assembly_id: str) -> bool:
        """Remove the assembly's parts at once; False when it was already abandoned (a
        repeated request). AlreadyComplete once completed."""
        a = await self.store.get_assembly(assembly_id)
        if a is None:
            raise NotFound(f"assembly {assembly_id} does not exist")
        if a.state is AssemblyState.ABORTED:
            return False
        if a.state is AssemblyState.COMPLETED:
            raise AlreadyComplete(f"assembly {a.id} is completed", a.upload_id)
        if a.state is not AssemblyState.ABORTING:
            a = await self.load(assembly_id, AccessMode.WRITE)  # expired: Gone
        lock = await self._lock(a.id, None, None)
        try:
            a = await self.store.get_assembly(assembly_id) or a
            if a.state is AssemblyState.COMPLETING:
                try:
                    await self._finish(a)
                except (MissingParts, ChecksumMismatch):
                    a = await self.load(assembly_id)  # back to ACTIVE: abandon it
                else:
                    raise AlreadyComplete(f"assembly {a.id} is completed", a.upload_id)
            if a.state is AssemblyState.ACTIVE:
                if self.engine.events.gates:
                    await self.engine.events.pre_terminate(self.view(a))
                moving = a.replace(state=AssemblyState.ABORTING, updated_at=self._now())
                if not await self.store.swap_assembly(moving, frozenset({AssemblyState.ACTIVE})):
                    return await self.abandon(assembly_id)
                a = moving
            if a.state is not AssemblyState.ABORTING:
                return False  # aborted by another request meanwhile
            await self._remove(a, AssemblyState.ABORTED)
        finally:
            await lock.release()
        self.engine.events.emit(EventType.TERMINATED, self.view(a), self._now())
        return True

    async def _remove(self, a: Assembly, settled: AssemblyState) -> None:
        """ABORTING / EXPIRING -> the parts go, then the settled state."""
        await self.parts.abandon_parts(a.target())
        await self.store.clear_parts(a.id)
        done = a.replace(state=settled, updated_at=self._now())
        await self.store.swap_assembly(done, UNSETTLED)

    # -- the sweep --------------------------------------------------------------------

    async def sweep(self, now: float, *, batch: int = 100, lock_timeout: float = 0.5) -> None:
        """Expire what is due, finish interrupted work, forget old settled records."""
        await self.sweep_report(now, batch=batch, lock_timeout=lock_timeout)

    async def sweep_report(
        self, now: float, *, batch: int = 100, lock_timeout: float = 0.5
    ) -> AssemblySweep:
        report = AssemblySweep()
        seen: set[str] = set()
        while True:
            due = [a for a in await self.store.due_assemblies(now, batch) if a.id not in seen]
            if not due:
                break
            for a in due:
                seen.add(a.id)
                await self._sweep_one(a.id, now, lock_timeout, report)
        for a in await self.store.unsettled_assemblies(batch):
            if a.id not in seen:
                await self._sweep_one(a.id, now, lock_timeout, report)
        report.purged = await self.store.purge_assemblies(now - self.options.tombstone_ttl)
        return report

    async def _sweep_one(
        self, assembly_id: str, now: float, timeout: float, report: AssemblySweep
    ) -> None:
        try:
            lock = await self.engine.stores.locker.acquire(
                assembly_id, timeout=timeout, on_release_request=_ignore, ask=None
            )
        except LockTimeout:
            report.busy.append(assembly_id)
            return
        try:
            a = await self.store.get_assembly(assembly_id)
            if a is None:
                return
            if a.state is AssemblyState.ACTIVE:
                if a.expires_at is None or a.expires_at >= now:
                    return
                moving = a.replace(state=AssemblyState.EXPIRING, updated_at=now)
                if not await self.store.swap_assembly(moving, frozenset({AssemblyState.ACTIVE})):
                    return
                await self._remove(moving, AssemblyState.EXPIRED)
                report.expired.append(a.id)
                self.engine.events.emit(EventType.EXPIRED, self.view(a), now)
            elif a.state is AssemblyState.COMPLETING:
                try:
                    await self._finish(a)
                except Exception:
                    log.exception("finishing the completion of assembly %s failed", a.id)
                    return
                report.settled.append(a.id)
            elif a.state in (AssemblyState.ABORTING, AssemblyState.EXPIRING):
                settled = (
                    AssemblyState.ABORTED
                    if a.state is AssemblyState.ABORTING
                    else AssemblyState.EXPIRED
                )
                await self._remove(a, settled)
                report.settled.append(a.id)
        finally:
            await lock.release()


def engine_fence(lock: HeldLock) -> None:
    """The engine's fence (late import: uploads.py imports this module)."""
    from .uploads import fence

    fence(lock)


Sweep = Callable[[float], Awaitable[None]]
"""A background sweep the engine's sweeper runs after its own (`Engine.add_sweep`)."""
