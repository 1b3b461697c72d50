"""Expiry: delete the bytes of unfinished uploads past `expires_at`, forget old tombstones.

An expired upload is first marked EXPIRED (so it answers 410 at once) and then its bytes
are deleted; a crash in between leaves an orphan file that recovery removes. Tombstones
are kept `tombstone_ttl` seconds so clients learn "gone" rather than "never existed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import LockTimeout

log = logging.getLogger(__name__)

DEFAULT_TOMBSTONE_TTL = 7 * 24 * 3600.0


@dataclass(slots=True)
class SweepReport:
    expired: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # locked (being written): next sweep
    purged: int = 0


async def sweep_expired(
    composer: StoreComposer,
    now: float,
    *,
    tombstone_ttl: float = DEFAULT_TOMBSTONE_TTL,
    batch: int = 100,
    lock_timeout: float = 0.5,
    on_expired: Callable[[UploadInfo], None] | None = None,
) -> SweepReport:
    """One sweep: expire what is due (in batches), then purge tombstones older than ttl."""
    report = SweepReport()
    seen: set[str] = set()
    while True:
        due = [i for i in await composer.metadata.expired(now, batch) if i.id not in seen]
        if not due:
            break
        for info in due:
            seen.add(info.id)
            expired = await _expire(composer, info.id, now, lock_timeout, report)
            if expired is not None and on_expired is not None:
                on_expired(expired)
    report.purged = await composer.metadata.purge_tombstones(now - tombstone_ttl)
    return report


async def _expire(
    composer: StoreComposer, upload_id: str, now: float, timeout: float, report: SweepReport
) -> UploadInfo | None:
    try:
        async with composer.active_locked(upload_id, timeout) as info:
            # Re-read under the lock: a PATCH may have finished or extended it meanwhile.
            if (
                info is None
                or info.is_complete
                or info.expires_at is None
                or info.expires_at >= now
            ):
                return None
            await composer.metadata.mark(upload_id, UploadState.EXPIRED, now)
            if composer.terminator is not None:
                await composer.terminator.delete(info)
            report.expired.append(upload_id)
            return info
    except LockTimeout:
        report.busy.append(upload_id)
        return None


class Sweeper:
    """Runs `sweep_expired` every `interval` seconds in an asyncio task until `stop`;
    `on_expired` hears of each upload it expired (the engine's event seam)."""

    def __init__(
        self,
        composer: StoreComposer,
        interval: float = 60.0,
        *,
        tombstone_ttl: float = DEFAULT_TOMBSTONE_TTL,
        clock: Callable[[], float] = time.time,
        on_expired: Callable[[UploadInfo], None] | None = None,
        also: Sequence[Callable[[float], Awaitable[None]]] = (),
    ) -> None:
        """`also` run after every sweep, each given `now` (e.g. expiring assemblies,
        deleting the bytes of deleted uploads whose readers are done)."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.composer = composer
        self.interval = interval
        self.tombstone_ttl = tombstone_ttl
        self.clock = clock
        self.on_expired = on_expired
        self.also = also
        """Further sweeps (e.g. assemblies), each given `now`; one that fails is logged."""
        self.runs = 0
        self.last: SweepReport | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="upload-sweeper")

    async def run_once(self) -> SweepReport:
        self.last = await sweep_expired(
            self.composer,
            self.clock(),
            tombstone_ttl=self.tombstone_ttl,
            on_expired=self.on_expired,
        )
        for sweep in self.also:
            try:
                await sweep(self.clock())
            except Exception:
                log.exception("sweep %r failed", sweep)
        self.runs += 1
        return self.last

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # one failed sweep must not stop expiration for good
                log.exception("expiry sweep failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
