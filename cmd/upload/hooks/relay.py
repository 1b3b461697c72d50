"""Deliver the outbox: claim due entries, hand each to its sink, retry with backoff.

One relay runs in every server process; claims are leased, so processes and instances
sharing a state store never deliver the same entry at the same time (a process that dies
mid-delivery leaves its lease to run out, and the entry is delivered again: at least
once). A delivery is cut off at half the lease, so it never outlives its claim. Only
the oldest pending entry of an upload is claimed for a sink, so an upload's
events reach each sink in order; different uploads are delivered concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping

from tuskit.persist.protocols import Outbox, OutboxEntry

from .sinks import Sink

log = logging.getLogger("tuskit.upload.hooks")

Tally = Callable[[str, str], None]
"""(sink, outcome: ok | failed) -> None."""


def _no_tally(sink: str, outcome: str) -> None:
    return None


class Relay:
    def __init__(
        self,
        outbox: Outbox,
        sinks: Mapping[str, Sink],
        *,
        first_backoff: float = 0.5,
        max_backoff: float = 60.0,
        lease: float = 30.0,
        batch: int = 100,
        poll: float = 1.0,
        concurrency: int = 16,
        tally: Tally = _no_tally,
        on_depth: Callable[[int], None] = lambda depth: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.sinks = dict(sinks)
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.lease = lease
        self.batch = batch
        self.poll = poll
        self.tally = tally
        self.on_depth = on_depth
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self.deliver_timeout = lease / 2  # a delivery never outlives its claim
        self._task: asyncio.Task[None] | None = None
        self._depth_at = 0.0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sink in self.sinks.values():
            try:
                await sink.close()
            except Exception:
                log.debug("closing sink %s failed", sink.name, exc_info=True)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try: doubling from `first_backoff`, capped, +-20%."""
        delay = min(self.max_backoff, self.first_backoff * 2.0 ** min(attempts, 30))
        return float(delay * random.uniform(0.8, 1.2))

    async def _run(self) -> None:
        while True:
            try:
                moved = await self.pump()
            except Exception as exc:
                log.error("outbox relay: %r", exc)
                moved = 0
            await self._report_depth()
            if moved:
                continue  # more may be claimable now (an upload's next event)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def _report_depth(self) -> None:
        now = time.monotonic()
        if now - self._depth_at >= 1.0:
            self._depth_at = now
            with contextlib.suppress(Exception):
                self.on_depth(await self.outbox.depth())

    async def pump(self) -> int:
        """Claim and deliver once; returns how many entries were delivered."""
        entries = await self.outbox.claim(list(self.sinks), self.clock(), self.batch, self.lease)
        if not entries:
            return 0
        results = await asyncio.gather(*(self._deliver(e) for e in entries))
        delivered = [e for e, ok in zip(entries, results, strict=True) if ok]
        await self.outbox.done(delivered)
        return len(delivered)

    async def _deliver(self, entry: OutboxEntry) -> bool:
        sink = self.sinks[entry.sink]
        async with self._limit:
            try:
                async with asyncio.timeout(self.deliver_timeout):
                    await sink.deliver(entry)
            except Exception as exc:
                self.tally(sink.name, "failed")
                due = self.clock() + self.backoff(entry.attempts)
                log.warning(
                    "event %s of upload %s to %s failed (attempt %d, next in %.1fs): %s",
                    entry.id, entry.upload_id, sink.name, entry.attempts + 1,
                    due - self.clock(), exc,
                )  # fmt: skip
                try:
                    await self.outbox.retry(entry, due)
                except Exception as store_exc:
                    log.error("could not reschedule event %s: %r", entry.id, store_exc)
                return False
        self.tally(sink.name, "ok")
        return True
