"""Deleting bytes that running reads still need, on every byte store.

A delete must let every read already running finish with every byte. How depends on
the byte store:
- local files: a read opens its file before it answers, and an open descriptor keeps
  reading after unlink (POSIX), so bytes are deleted at once (`ReadSnapshots`);
- object storage gives no such promise for a GET in flight, so a read holds a lease in
  the state store (renewed while it runs; a crashed reader's lapses) and a delete
  retires the upload instead: its bytes go at once when no lease is live, else when
  the expiry sweep finds the last lease ended. The retirement is recorded before the
  bytes go, so a crash in between leaves work for the sweep, not an orphan.

The order that makes this safe across instances: a reader takes its lease *then*
re-reads the record; a delete writes the tombstone *then* retires. Either the delete
sees the lease or the reader sees the tombstone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import ReadLeases, ReadSnapshots

log = logging.getLogger(__name__)

LEASE = 60.0
"""Seconds a read lease lasts unless renewed."""
RENEW = 20.0
"""A running read renews its lease this often."""


def _reads_survive_delete(stores: StoreComposer) -> bool:
    store = stores.byte_store
    return isinstance(store, ReadSnapshots) and store.reads_survive_delete


class Lease:
    """One running read's claim on an upload's bytes; renewed in the background."""

    def __init__(self, leases: ReadLeases, upload_id: str, clock: Callable[[], float]) -> None:
        self._leases = leases
        self.upload_id = upload_id
        self.reader = os.urandom(12).hex()
        self._clock = clock
        self._renewer: asyncio.Task[None] | None = None

    async def take(self) -> None:
        await self._leases.hold(self.upload_id, self.reader, self._clock() + LEASE)
        self._renewer = asyncio.get_running_loop().create_task(self._renew(), name="read-lease")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            try:
                await self._leases.hold(self.upload_id, self.reader, self._clock() + LEASE)
            except Exception:
                log.warning("could not renew the read lease on %s", self.upload_id, exc_info=True)

    async def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        try:
            await self._leases.release(self.upload_id, self.reader)
        except Exception:  # it lapses by itself within LEASE seconds
            log.warning("could not release the read lease on %s", self.upload_id, exc_info=True)


class Retention:
    """Where the engine removes bytes: now, or once the last reader is done."""

    def __init__(self, stores: StoreComposer, clock: Callable[[], float] = time.time) -> None:
        self.stores = stores
        self.clock = clock
        self.leases: ReadLeases | None = None if _reads_survive_delete(stores) else stores.leases

    @property
    def defers(self) -> bool:
        """Reads hold leases and deletes wait for them."""
        return self.leases is not None

    async def lease(self, upload_id: str) -> Lease | None:
        """A lease for a read about to start; None where reads need none."""
        if self.leases is None:
            return None
        lease = Lease(self.leases, upload_id, self.clock)
        await lease.take()
        return lease

    async def remove_bytes(self, info: UploadInfo) -> None:
        """Delete the bytes of an upload whose tombstone is written: at once, or later
        when readers still hold leases on it."""
        terminator = self.stores.terminator
        if terminator is None:
            return
        if self.leases is None:
            await terminator.delete(info)
            return
        if await self.leases.retire(info, self.clock()):
            await terminator.delete(info)
            await self.leases.reclaimed(info.id)

    async def reclaim(self, batch: int = 100) -> int:
        """Delete the bytes of retired uploads whose readers are all done; how many."""
        terminator = self.stores.terminator
        if self.leases is None or terminator is None:
            return 0
        done = 0
        for info in await self.leases.reclaimable(self.clock(), batch):
            try:
                await terminator.delete(info)
            except Exception:
                log.exception("could not delete the bytes of retired upload %s", info.id)
                continue
            await self.leases.reclaimed(info.id)
            done += 1
        return done
