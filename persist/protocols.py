"""The storage seam, after tusd: a core store plus small optional capabilities.

The upload engine depends only on these Protocols; no protocol's words live here. A
concrete setup is two parts: a *byte store* (where bytes go: local disk, S3-compatible
object storage) and a *metadata store* (where upload state goes: SQLite, memory, Redis,
PostgreSQL), plus a *locker*. `persist.composer.StoreComposer` collects what they offer;
each protocol derives what it advertises from that.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
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
    """Capability: list what is stored, so start-up recovery can remove orphans."""

    async def stored_ids(self) -> list[tuple[str, float]]:
        """(upload id, last-modified epoch seconds) of every stored object."""
        ...


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

    async def close(self) -> None: ...


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
