"""One object holding a setup's stores, and what they offer (after tusd's StoreComposer).

The engine asks the composer, not the stores, which optional capabilities exist; every
protocol derives what it advertises from the same checks, so the server never
advertises something its stores cannot do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from .model import UploadInfo, UploadState
from .parts import parts_for
from .protocols import (
    AssemblyStore,
    ByteStore,
    Concatenator,
    ContentReader,
    Finisher,
    Inventory,
    Locker,
    MetadataStore,
    PartStore,
    QueueIndex,
    ReadLeases,
    Release,
    Terminator,
)


class StoreComposer:
    """The core (bytes + metadata + locker) and the capabilities detected on the byte store,
    plus optional state components: read leases (deletes that wait for running reads)
    and queues of finished uploads."""

    def __init__(
        self,
        byte_store: ByteStore,
        metadata: MetadataStore,
        locker: Locker,
        assemblies: AssemblyStore | None = None,
        *,
        leases: ReadLeases | None = None,
        queues: QueueIndex | None = None,
    ) -> None:
        self.byte_store = byte_store
        self.metadata = metadata
        self.locker = locker
        self.reader: ContentReader | None = (
            byte_store if isinstance(byte_store, ContentReader) else None
        )
        self.terminator: Terminator | None = (
            byte_store if isinstance(byte_store, Terminator) else None
        )
        self.concatenator: Concatenator | None = (
            byte_store if isinstance(byte_store, Concatenator) else None
        )
        self.inventory: Inventory | None = byte_store if isinstance(byte_store, Inventory) else None
        # Assembly from parts (session uploads): parts on the byte store's storage, their
        # state beside the uploads'; both or neither.
        self.assemblies = assemblies
        self.parts: PartStore | None = parts_for(byte_store) if assemblies is not None else None
        self.finisher: Finisher | None = byte_store if isinstance(byte_store, Finisher) else None
        self.leases = leases
        self.queues = queues

    @contextlib.asynccontextmanager
    async def active_locked(
        self, upload_id: str, timeout: float
    ) -> AsyncIterator[UploadInfo | None]:
        """The upload's record, re-read under its lock, or None when it is no longer active.

        For background work (recovery, expiry): the holder is not asked to let go, and a
        busy upload raises LockTimeout so the caller can come back to it later.
        """
        held = await self.locker.acquire(
            upload_id, timeout=timeout, on_release_request=_ignore, ask=None
        )
        try:
            info = await self.metadata.get(upload_id)
            yield info if info is not None and info.state is UploadState.ACTIVE else None
        finally:
            await held.release()

    async def ping(self) -> None:
        """Raise unless both stores answer (readiness)."""
        await self.metadata.ping()
        await self.byte_store.ping()

    async def close(self) -> None:
        for extra in (self.queues, self.leases):
            if extra is not None:
                await extra.close()
        await self.locker.close()
        await self.metadata.close()
        if self.assemblies is not None:
            await self.assemblies.close()
        await self.byte_store.close()


def _ignore(kind: Release) -> None:
    """Release requests to background work are not honoured: it is short."""
