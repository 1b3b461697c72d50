"""The storage seam, after tusd: a core store plus small optional capabilities.

The upload engine depends only on these Protocols; no protocol's words live here. A
concrete setup is two parts: a *byte store* (where bytes go: local disk, S3-compatible
object storage) and a *metadata store* (where upload state goes: SQLite, memory, Redis,
PostgreSQL), plus a *locker*. `persist.composer.StoreComposer` collects what they offer;
each protocol derives what it advertises from that.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .assembly import Assembly, AssemblyState, StoredPart
from .model import UploadInfo, UploadState


class StoreError(Exception):
    """Base class of every error a store raises on purpose."""


class UploadNotFound(StoreError):
    """No record for this id (never existed, or its tombstone was purged)."""


class UploadExists(StoreError):
    """`create` was called with an id that is already taken."""


class LockTimeout(StoreError):
    """The lock was not granted in time (the holder did not let go)."""


class BytesMissing(StoreError):
    """Storage holds fewer bytes than the record's offset (`durable` of them).

    Only after an OS crash under a relaxed fsync policy (or bytes removed behind the
    server's back): the engine lowers the offset to `durable` and the client resumes
    from there, instead of a write failing on every attempt."""

    def __init__(self, message: str, durable: int) -> None:
        super().__init__(message)
        self.durable = durable


class ChunkWriter(Protocol):
    """Appends one request's bytes to an upload, then commits or discards them.

    `write` may be called many times; nothing is visible to readers of the offset
    until `commit`, which makes the bytes durable according to the fsync policy and
    returns the new durable offset. `discard` forgets everything written since the
    writer was opened (checksum mismatch). Exactly one of them ends the writer.
    """

    @property
    def written(self) -> int: ...

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> int: ...

    async def discard(self) -> None: ...


@runtime_checkable
class Checkpointing(Protocol):
    """Capability of a ChunkWriter: make what was written so far durable mid-body.

    `checkpoint` returns the end of the bytes now durable (maybe short of everything
    written, e.g. a partial block still buffered); from then on `discard` keeps them, and
    the caller may record that offset. A long body cut by a crash then loses only what
    came after its last checkpoint."""

    async def checkpoint(self) -> int: ...


class ByteStore(Protocol):
    """Where bytes go. One object per upload, only ever appended at the current offset."""

    async def create(self, info: UploadInfo) -> tuple[tuple[str, str], ...]:
        """Prepare storage for a new upload; returns the `storage` fields to record."""
        ...

    async def open_writer(self, info: UploadInfo) -> ChunkWriter:
        """A writer appending at `info.offset` (the offset the metadata store holds)."""
        ...

    async def durable_size(self, info: UploadInfo) -> int:
        """Bytes actually stored; start-up recovery reconciles offsets with it."""
        ...

    async def ping(self) -> None:
        """Raise unless the store can be reached now (readiness checks, start-up)."""
        ...

    async def close(self) -> None:
        """Release clients and connections (a no-op for local files)."""
        ...


@runtime_checkable
class ContentReader(Protocol):
    """Capability: serve stored bytes (GET download)."""

    serves_unfinished: bool
    """False where bytes become readable only once the upload is complete (S3: parts are
    not objects until the multipart upload completes)."""

    def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the upload, in chunks, without loading them whole."""
        ...


@runtime_checkable
class Terminator(Protocol):
    """Capability: delete an upload's bytes (termination, expiration)."""

    async def delete(self, info: UploadInfo) -> None: ...


@runtime_checkable
class Concatenator(Protocol):
    """Capability: build a final upload's bytes from finished partial uploads."""

    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None: ...


@runtime_checkable
class Inventory(Protocol):
    """Capability: list what is stored, so background recovery can remove orphans."""

    def stored(self, batch: int) -> AsyncIterator[list[str]]:
        """The ids of every stored object, at most `batch` at a time, listed off the event
        loop: memory holds one batch however many objects there are (an async generator,
        like `ContentReader.read`)."""
        ...

    async def last_modified(self, upload_id: str) -> float | None:
        """When the object last changed (epoch seconds), or None once it is gone."""
        ...


@runtime_checkable
class SizeProbe(Protocol):
    """Capability: many `durable_size`s in one go (one worker-thread hop per batch), for
    a recovery walk over every record."""

    async def durable_sizes(self, infos: Sequence[UploadInfo]) -> list[int]: ...


class MetadataStore(Protocol):
    """Where upload state goes. Must survive restarts unless it says otherwise."""

    async def create(self, info: UploadInfo) -> None:
        """Store a new record; raises UploadExists if the id is taken."""
        ...

    async def get(self, upload_id: str) -> UploadInfo | None:
        """The record (tombstones included, with their state), or None."""
        ...

    async def save(self, info: UploadInfo) -> None:
        """Replace the record; callers hold the upload's lock."""
        ...

    async def mark(self, upload_id: str, state: UploadState, now: float) -> None:
        """Turn a record into a tombstone (terminated / expired)."""
        ...

    async def expired(self, now: float, limit: int) -> list[UploadInfo]:
        """Active, unfinished uploads whose `expires_at` is before `now`."""
        ...

    async def finals_waiting_on(self, partial_id: str) -> list[UploadInfo]:
        """Active final uploads listing `partial_id` that are not complete yet."""
        ...

    def all_active(self) -> AsyncIterator[UploadInfo]:
        """Every active record (start-up recovery); streamed, not loaded whole.

        A plain `def` returning an async iterator (implement it as an async generator),
        like `ContentReader.read`: `async for info in store.all_active()`.
        """
        ...

    async def purge_tombstones(self, older_than: float) -> int:
        """Forget tombstones older than `older_than`; returns how many."""
        ...

    async def ping(self) -> None:
        """Raise unless the store can be reached now (readiness checks, start-up)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class StateLookup(Protocol):
    """Capability of a metadata store: the states of many ids in one query, so the orphan
    sweep asks once per batch of stored objects instead of once per object."""

    async def states(self, ids: Sequence[str]) -> dict[str, UploadState]:
        """State of each id that has a record (tombstones included); others are absent."""
        ...


class Release(enum.StrEnum):
    """Why a waiter asks the holder of a lock to let go. Lockers carry it unchanged to the
    holder's callback; what to honour, and when, is the holder's decision."""

    STOP = "stop"
    """Let go now and keep what arrived (termination; the lock was lost)."""
    SUPERSEDE = "supersede"
    """A new writer resumes from the recorded state: let go now; what the holder has not
    recorded yet may be dropped (the new writer sends it again)."""
    IF_STALLED = "if-stalled"
    """Let go once the holder's work has made no progress for a while; a healthy holder
    goes on."""

    @property
    def strength(self) -> int:
        """STOP > SUPERSEDE > IF_STALLED: a channel that can hold only one keeps the
        strongest."""
        return _STRENGTH[self]


_STRENGTH = {Release.IF_STALLED: 0, Release.SUPERSEDE: 1, Release.STOP: 2}

ReleaseRequest = Callable[[Release], None]


class HeldLock(Protocol):
    async def release(self) -> None: ...

    def still_held(self) -> bool:
        """False once the lock may have passed to another holder (a lease that could not
        be renewed in time, a database session that ended): the holder must then record
        nothing more. Checked right before every metadata write made under the lock."""
        ...


@runtime_checkable
class LockProbe(Protocol):
    """Capability: tell cheaply whether an upload's lock is held right now.

    Lets HEAD ask a running PATCH to let go (so it reports the offset the next PATCH
    will see) without taking a lock when nobody holds one, which is almost always.
    """

    async def busy(self, upload_id: str) -> bool: ...


class Locker(Protocol):
    """One writer per upload, across tasks and processes sharing the store.

    `acquire` asks a current holder to let go with `ask` (calling the
    `on_release_request` the holder registered, with that `Release`; repeated while it
    waits), then waits up to `timeout` seconds; raises LockTimeout.
    """

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_request: ReleaseRequest,
        ask: Release | None = Release.STOP,
    ) -> HeldLock:
        """`ask=None` for background work (recovery, expiry): wait, never interrupt a
        running writer."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One event waiting for one destination (`sink`): at least once, in order per upload.

    `id` is unique per event and the same for every sink and every retry, so receivers can
    de-duplicate; `payload` is the event's JSON as every sink sends it.
    """

    id: str
    sink: str
    upload_id: str
    payload: str
    attempts: int = 0
    ref: str = ""
    """The store's handle for this entry (set by `claim`)."""


@runtime_checkable
class Outbox(Protocol):
    """Durable queue of events to deliver, kept in the state store (optional capability).

    `claim` hands out due entries under a lease (so several processes can relay the same
    outbox) and only the oldest pending entry of each (sink, upload), so one upload's
    events leave in the order they were added. An entry leaves the outbox on `done`;
    `retry` gives its lease back with a later due time.
    """

    async def add(self, entries: Sequence[OutboxEntry], now: float) -> None: ...

    async def claim(
        self, sinks: Sequence[str], now: float, limit: int, lease: float
    ) -> list[OutboxEntry]: ...

    async def done(self, entries: Sequence[OutboxEntry]) -> None: ...

    async def retry(self, entry: OutboxEntry, due: float) -> None: ...

    async def depth(self) -> int:
        """Entries not yet delivered (all sinks)."""
        ...

    async def close(self) -> None: ...


# -- assembly from parts (session uploads): bytes at known offsets, state per part -------


class PartWriter(Protocol):
    """One part's bytes, all or nothing: `commit` makes them durable and returns the
    store's receipt for the part (an S3 ETag; '' on disk); `discard` forgets them (the
    part's earlier content may be gone too: callers un-record a part before rewriting
    it). Exactly one of them ends the writer."""

    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> str: ...

    async def discard(self) -> None: ...


@runtime_checkable
class PartStore(Protocol):
    """Capability: an upload's bytes written as fixed-size parts at known offsets, in any
    order and in parallel (several writers, several instances), then assembled in place
    without copying (one S3 multipart part per part; on disk, parts written into one
    file). `target` is the upload the parts become (its id names the bytes)."""

    min_part_size: int
    """No part but the last may be smaller (S3: 5 MiB)."""
    part_alignment: int
    """Part sizes are multiples of this (disk: the O_DIRECT block)."""
    max_parts: int | None
    """Most parts of one upload (S3: 10,000); None for no limit."""

    async def begin_parts(self, target: UploadInfo, part_size: int) -> tuple[tuple[str, str], ...]:
        """Prepare to take parts; returns the `storage` fields to keep with the assembly."""
        ...

    async def open_part(self, target: UploadInfo, index: int, start: int, size: int) -> PartWriter:
        """A writer for part `index`: exactly `size` bytes at `start`."""
        ...

    async def assemble(self, target: UploadInfo, parts: list[StoredPart]) -> None:
        """Make the parts the target's bytes, readable as an upload; idempotent (a retry
        after a crash finds the work done)."""
        ...

    async def reopen_parts(self, target: UploadInfo) -> tuple[tuple[str, str], ...]:
        """Undo `assemble` (the result failed its verification): the target has no bytes
        and parts are taken again, all of them forgotten; returns the new `storage`."""
        ...

    async def finish_parts(self, target: UploadInfo) -> None:
        """The target's upload is recorded: drop what only the parts needed."""
        ...

    async def abandon_parts(self, target: UploadInfo) -> None:
        """Remove every part (and an assembled result nobody recorded); idempotent."""
        ...


class AssemblyStore(Protocol):
    """Where assemblies (parts of an upload that arrive in any order) and their stored
    parts are recorded. Every conditional change is atomic across instances: a part is
    recorded or cleared only while its assembly is ACTIVE, so a change of state (to
    COMPLETING, ABORTING, ...) and part writes never interleave."""

    async def create_assembly(self, assembly: Assembly) -> None:
        """Store a new assembly; raises UploadExists if the id is taken."""
        ...

    async def get_assembly(self, assembly_id: str) -> Assembly | None: ...

    async def stored_parts(self, assembly_id: str) -> list[StoredPart]:
        """The recorded parts, by index."""
        ...

    async def clear_part(self, assembly_id: str, index: int) -> bool:
        """Forget part `index` (before it is rewritten); False (nothing changed) unless
        the assembly is ACTIVE."""
        ...

    async def put_part(
        self, assembly_id: str, part: StoredPart, now: float, expires_at: float | None
    ) -> int | None:
        """Record a part (replacing one with its index) and move `updated_at` and
        `expires_at`; the number of parts recorded, or None (nothing changed) unless
        the assembly is ACTIVE."""
        ...

    async def clear_parts(self, assembly_id: str) -> None:
        """Forget every part of the assembly."""
        ...

    async def swap_assembly(self, assembly: Assembly, expect: frozenset[AssemblyState]) -> bool:
        """Replace the record if its current state is in `expect`; False otherwise."""
        ...

    async def due_assemblies(self, now: float, limit: int) -> list[Assembly]:
        """ACTIVE assemblies whose `expires_at` is before `now`."""
        ...

    async def unsettled_assemblies(self, limit: int) -> list[Assembly]:
        """Assemblies whose work was interrupted: COMPLETING, ABORTING or EXPIRING."""
        ...

    async def purge_assemblies(self, older_than: float) -> int:
        """Forget settled assemblies (COMPLETED, ABORTED, EXPIRED) whose `updated_at` is
        before `older_than`, with their parts; returns how many."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Finisher(Protocol):
    """Capability: make an upload whose length was fixed after its last byte readable as
    one whole (S3 completes its multipart upload; a file needs nothing, so has none)."""

    async def finish(self, info: UploadInfo) -> None: ...


@runtime_checkable
class ReadSnapshots(Protocol):
    """Capability: a read that has begun keeps every byte of its range even when the
    upload is deleted meanwhile (an open file survives unlink on POSIX). A byte store
    without it gets its deletes deferred while readers hold `ReadLeases`."""

    reads_survive_delete: bool


@runtime_checkable
class ReadLeases(Protocol):
    """State capability: who is reading an upload right now, across instances, and which
    deleted uploads still wait for their bytes to be removed.

    A reader holds a lease (renewed while it reads, so a crashed reader's lapses); a
    delete records the upload as retired and removes its bytes only once no lease is
    live. Every method is one atomic step of the state store.
    """

    async def hold(self, upload_id: str, reader: str, until: float) -> None:
        """Take or renew `reader`'s lease on `upload_id` until `until` (epoch seconds)."""
        ...

    async def release(self, upload_id: str, reader: str) -> None: ...

    async def retire(self, info: UploadInfo, now: float) -> bool:
        """Record `info` as deleted-but-stored; True when no lease is live at `now` (the
        caller removes the bytes at once, then calls `reclaimed`)."""
        ...

    async def reclaimable(self, now: float, limit: int) -> list[UploadInfo]:
        """Retired uploads without a live lease: their bytes can go."""
        ...

    async def reclaimed(self, upload_id: str) -> None:
        """Forget a retired upload whose bytes were removed (and its leases)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """An upload's place in a named queue. `seq` orders a queue (one total order, given
    by the state store when the entry is appended, never by clocks); a removed entry
    keeps its place (`removed` is set) so a position taken from it stays meaningful."""

    queue: str
    seq: int
    upload_id: str
    size: int
    content_type: str
    created: float
    removed: float | None = None


@runtime_checkable
class QueueIndex(Protocol):
    """State capability: FIFO queues of finished uploads, shared by every instance."""

    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        """Put the upload at the end of `queue` with the next sequence number."""
        ...

    async def remove(self, upload_id: str, now: float) -> QueueEntry | None:
        """Take the upload out of its queue (its position is kept); the entry it had,
        or None when it was in no queue."""
        ...

    async def locate(self, upload_id: str) -> QueueEntry | None:
        """The entry of `upload_id`, live or removed, or None."""
        ...

    async def after(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        """Live entries of `queue` with a sequence above `seq`, oldest first."""
        ...

    async def before(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        """Live entries of `queue` with a sequence below `seq`, newest first."""
        ...

    async def counts(self) -> list[tuple[str, int]]:
        """(queue, live entries) of every queue holding at least one, by name."""
        ...

    async def last_seq(self, queue: str) -> int:
        """The highest sequence number `queue` ever handed out (0 for none)."""
        ...

    async def wait(self, queue: str, seen: int, timeout: float) -> bool:
        """Return once `last_seq(queue) > seen` (True) or after `timeout` seconds (False),
        whichever instance appended."""
        ...

    async def forget_removed(self, older_than: float) -> int:
        """Drop positions of entries removed before `older_than`; returns how many."""
        ...

    async def close(self) -> None: ...
