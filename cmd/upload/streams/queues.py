"""The queue side of the stream store: pages, first / next / prev, and long-polls.

Order is the state store's sequence per queue (the order streams became visible), not
a clock. `next` and `prev` start from the position of a stream, which is kept after
the stream is deleted, so a follower whose last stream was consumed by someone else
carries on. A long-poll (`wait`) sleeps until an append to its queue on any instance
(Redis pub/sub, PostgreSQL NOTIFY, or a poll of the embedded store) or its deadline,
and is cut short with 503 when the server starts shutting down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tuskit.gen.streams import errors
from tuskit.gen.streams.service import QueueList, QueueSummary, StreamDescriptor, StreamPage
from tuskit.persist.protocols import QueueEntry, QueueIndex

from ..engine import Inflight
from . import cursor
from .content import rfc3339

MAX_WAIT = 60.0
"""Longer `wait` values are clamped to this."""
SLICE = 1.0
"""A long-poll looks at the shutdown flag at least this often."""
FORGET_AFTER = 7 * 24 * 3600.0
"""Positions of deleted streams are kept this long (for `next` / `prev` from them)."""
FORGET_EVERY = 3600.0


def descriptor(entry: QueueEntry) -> StreamDescriptor:
    return StreamDescriptor(
        id=entry.upload_id,
        queue=entry.queue,
        size=entry.size,
        contentType=entry.content_type,
        created=rfc3339(entry.created),
    )


class Queues:
    """Queue reads over a QueueIndex."""

    def __init__(
        self,
        index: QueueIndex,
        inflight: Inflight,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.inflight = inflight
        self.clock = clock
        self._forgotten = 0.0

    async def page(self, queue: str, limit: int, after: str | None) -> StreamPage:
        seq = 0 if after is None else self._position(queue, after)
        found = await self.index.after(queue, seq, limit + 1)
        shown = found[:limit]
        more = len(found) > limit
        return StreamPage(
            queue=queue,
            streams=[descriptor(e) for e in shown],
            next=cursor.encode(queue, shown[-1].seq) if more and shown else None,
        )

    def _position(self, queue: str, after: str) -> int:
        try:
            return cursor.decode(queue, after)
        except cursor.BadCursor as exc:
            raise errors.BadRequest(str(exc)) from None

    async def first(self, queue: str, wait: float | None) -> StreamDescriptor:
        entry = await self._following(queue, 0, wait)
        if entry is None:
            raise errors.NotFound(f"queue {queue} holds no stream")
        return descriptor(entry)

    async def next(self, queue: str, stream_id: str, wait: float | None) -> StreamDescriptor:
        here = await self._locate(queue, stream_id)
        entry = await self._following(queue, here.seq, wait)
        if entry is None:
            raise errors.NotFound(f"no stream follows {stream_id} in queue {queue} yet")
        return descriptor(entry)

    async def prev(self, queue: str, stream_id: str) -> StreamDescriptor:
        here = await self._locate(queue, stream_id)
        found = await self.index.before(queue, here.seq, 1)
        if not found:
            raise errors.NotFound(f"no stream precedes {stream_id} in queue {queue}")
        return descriptor(found[0])

    async def _locate(self, queue: str, stream_id: str) -> QueueEntry:
        here = await self.index.locate(stream_id)
        if here is None or here.queue != queue:
            raise errors.NotFound(f"stream {stream_id} is not in queue {queue}")
        return here

    async def _following(self, queue: str, seq: int, wait: float | None) -> QueueEntry | None:
        """The first live entry after `seq`, waiting up to `wait` seconds for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait or 0.0, MAX_WAIT)
        while True:
            seen = await self.index.last_seq(queue)  # before looking: no append is missed
            found = await self.index.after(queue, seq, 1)
            if found:
                return found[0]
            left = deadline - loop.time()
            if left <= 0:
                return None
            if self.inflight.draining:
                raise errors.Unavailable("the server is shutting down; ask again", retry_after=1)
            await self.index.wait(queue, seen, min(left, SLICE))

    async def summary(self) -> QueueList:
        return QueueList(
            queues=[QueueSummary(queue=q, streams=n) for q, n in await self.index.counts()]
        )

    async def unlist(self, stream_id: str) -> None:
        """Take a deleted stream out of its queue (its position stays for a while)."""
        now = self.clock()
        await self.index.remove(stream_id, now)
        if now - self._forgotten >= FORGET_EVERY:
            self._forgotten = now
            await self.index.forget_removed(now - FORGET_AFTER)
