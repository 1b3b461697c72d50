"""One object holding a setup's stores, and what they offer (after tusd's StoreComposer).

The service asks the composer, not the stores, which optional capabilities exist, and
the `Tus-Extension` header is derived from the same checks, so the server never
advertises something its stores cannot do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from .model import UploadInfo, UploadState
from .protocols import (
    ByteStore,
    Concatenator,
    ContentReader,
    Inventory,
    Locker,
    MetadataStore,
    Terminator,
)


class StoreComposer:
    """The core (bytes + metadata + locker) and the capabilities detected on the byte store."""

    def __init__(self, byte_store: ByteStore, metadata: MetadataStore, locker: Locker) -> None:
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

    def extensions(self) -> tuple[str, ...]:
        """The `Tus-Extension` values, in the order tus lists them, for what is offered."""
        return tuple(name for name, offered in _EXTENSIONS if offered(self))

    @property
    def tus_extension(self) -> str:
        """The `Tus-Extension` header value."""
        return ",".join(self.extensions())

    @contextlib.asynccontextmanager
    async def active_locked(
        self, upload_id: str, timeout: float
    ) -> AsyncIterator[UploadInfo | None]:
        """The upload's record, re-read under its lock, or None when it is no longer active.

        For background work (recovery, expiry): the holder is not asked to let go, and a
        busy upload raises LockTimeout so the caller can come back to it later.
        """
        held = await self.locker.acquire(
            upload_id, timeout=timeout, on_release_request=_ignore, ask_holder=False
        )
        try:
            info = await self.metadata.get(upload_id)
            yield info if info is not None and info.state is UploadState.ACTIVE else None
        finally:
            await held.release()

    async def close(self) -> None:
        await self.locker.close()
        await self.metadata.close()
        close_bytes = getattr(self.byte_store, "close", None)  # e.g. S3's client
        if close_bytes is not None:
            await close_bytes()


def _ignore() -> None:
    """Release requests to background work are not honoured: it is short."""


def _core(c: StoreComposer) -> bool:
    # Every ByteStore creates uploads, takes bytes in the creation request and may learn
    # the length later (writers are not told a length); checksums are computed by the
    # service over the bytes it hands to a writer, and `discard` undoes a mismatch.
    return True


def _expiration(c: StoreComposer) -> bool:
    return callable(getattr(c.metadata, "expired", None))


_EXTENSIONS: tuple[tuple[str, Callable[[StoreComposer], bool]], ...] = (
    ("creation", _core),
    ("creation-with-upload", _core),
    ("creation-defer-length", _core),
    ("expiration", _expiration),
    ("checksum", _core),
    ("checksum-trailer", _core),
    ("termination", lambda c: c.terminator is not None),
    ("concatenation", lambda c: c.concatenator is not None),
    ("concatenation-unfinished", lambda c: c.concatenator is not None),
)
