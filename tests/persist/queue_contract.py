"""The contract every QueueIndex passes (memory, SQLite, Redis, PostgreSQL).

A store's test module subclasses `QueueIndexContract` and provides `queue_index` and
`other_index` (a second client on the same backing store, as another instance would
open it; the memory store returns the same object).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time

import pytest

from tuskit.persist.protocols import QueueIndex

pytestmark = pytest.mark.anyio

_names = itertools.count()


def name(prefix: str = "q") -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


async def fill(index: QueueIndex, queue: str, n: int) -> list[str]:
    ids = [name("s") for _ in range(n)]
    for i, upload_id in enumerate(ids):
        await index.append(queue, upload_id, 10 + i, "text/plain", 1000.0 + i)
    return ids


class QueueIndexContract:
    async def test_append_orders_each_queue_on_its_own(self, queue_index: QueueIndex) -> None:
        a, b = name(), name()
        first = await queue_index.append(a, name("s"), 5, "image/png", 1234.5)
        assert (first.queue, first.seq, first.size, first.content_type) == (a, 1, 5, "image/png")
        assert first.created == 1234.5 and first.removed is None
        assert (await queue_index.append(b, name("s"), 1, "x/y", 1.0)).seq == 1
        assert (await queue_index.append(a, name("s"), 1, "x/y", 1.0)).seq == 2
        assert await queue_index.last_seq(a) == 2
        assert await queue_index.last_seq(b) == 1
        assert await queue_index.last_seq(name()) == 0

    async def test_after_pages_oldest_first(self, queue_index: QueueIndex) -> None:
        q = name()
        ids = await fill(queue_index, q, 7)
        page = await queue_index.after(q, 0, 3)
        assert [e.upload_id for e in page] == ids[:3]
        rest = await queue_index.after(q, page[-1].seq, 100)
        assert [e.upload_id for e in rest] == ids[3:]
        assert await queue_index.after(q, rest[-1].seq, 10) == []
        assert rest[0].size == 13 and rest[0].content_type == "text/plain"

    async def test_before_is_newest_first(self, queue_index: QueueIndex) -> None:
        q = name()
        ids = await fill(queue_index, q, 4)
        last = await queue_index.locate(ids[-1])
        assert last is not None
        assert [e.upload_id for e in await queue_index.before(q, last.seq, 2)] == [
            ids[2],
            ids[1],
        ]
        assert await queue_index.before(q, 1, 5) == []

    async def test_removed_entries_keep_their_position(self, queue_index: QueueIndex) -> None:
        q = name()
        ids = await fill(queue_index, q, 3)
        gone = await queue_index.remove(ids[1], 2000.0)
        assert gone is not None and gone.upload_id == ids[1] and gone.queue == q
        assert gone.removed is None  # the entry as it was
        assert await queue_index.remove(ids[1], 2001.0) is None
        assert await queue_index.remove(name("never"), 2001.0) is None
        kept = await queue_index.locate(ids[1])
        assert kept is not None and kept.removed == 2000.0 and kept.seq == gone.seq
        assert [e.upload_id for e in await queue_index.after(q, 0, 10)] == [ids[0], ids[2]]
        assert [e.upload_id for e in await queue_index.after(q, kept.seq, 10)] == [ids[2]]
        assert [e.upload_id for e in await queue_index.before(q, kept.seq, 10)] == [ids[0]]

    async def test_counts_list_non_empty_queues_by_name(self, queue_index: QueueIndex) -> None:
        base = name()
        a, b, c = f"{base}-a", f"{base}-b", f"{base}-c"
        ids = await fill(queue_index, b, 2)
        await fill(queue_index, a, 1)
        only = await fill(queue_index, c, 1)
        await queue_index.remove(only[0], 1.0)
        await queue_index.remove(ids[0], 1.0)
        mine = [(q, n) for q, n in await queue_index.counts() if q.startswith(base)]
        assert mine == [(a, 1), (b, 1)]

    async def test_sequences_are_never_reused(self, queue_index: QueueIndex) -> None:
        q = name()
        ids = await fill(queue_index, q, 2)
        for upload_id in ids:
            await queue_index.remove(upload_id, 10.0)
        assert await queue_index.forget_removed(11.0) >= 2
        assert await queue_index.locate(ids[0]) is None
        again = await queue_index.append(q, name("s"), 1, "x/y", 1.0)
        assert again.seq == 3
        assert await queue_index.last_seq(q) == 3

    async def test_forget_removed_keeps_recent_positions(self, queue_index: QueueIndex) -> None:
        q = name()
        old, young, live = await fill(queue_index, q, 3)
        await queue_index.remove(old, 100.0)
        await queue_index.remove(young, 300.0)
        await queue_index.forget_removed(200.0)
        assert await queue_index.locate(old) is None
        assert (await queue_index.locate(young)) is not None
        assert (await queue_index.locate(live)) is not None

    async def test_concurrent_appends_get_distinct_consecutive_sequences(
        self, queue_index: QueueIndex, other_index: QueueIndex
    ) -> None:
        q = name()
        got = await asyncio.gather(
            *(
                (queue_index if i % 2 else other_index).append(q, name("s"), i, "x/y", 1.0)
                for i in range(40)
            )
        )
        assert sorted(e.seq for e in got) == list(range(1, 41))
        listed = await queue_index.after(q, 0, 100)
        assert [e.seq for e in listed] == list(range(1, 41))

    async def test_wait_returns_at_once_when_something_is_already_new(
        self, queue_index: QueueIndex
    ) -> None:
        q = name()
        await fill(queue_index, q, 1)
        start = time.monotonic()
        assert await queue_index.wait(q, 0, 5.0)
        assert time.monotonic() - start < 1.0

    async def test_wait_times_out_without_appends(self, queue_index: QueueIndex) -> None:
        q = name()
        start = time.monotonic()
        assert not await queue_index.wait(q, 0, 0.3)
        assert 0.25 <= time.monotonic() - start < 3.0

    async def test_wait_is_woken_by_an_append_of_another_instance(
        self, queue_index: QueueIndex, other_index: QueueIndex
    ) -> None:
        q = name()
        seen = await queue_index.last_seq(q)
        waiter = asyncio.ensure_future(queue_index.wait(q, seen, 10.0))
        await asyncio.sleep(0.3)
        assert not waiter.done()
        start = time.monotonic()
        await other_index.append(q, name("s"), 1, "x/y", 1.0)
        assert await asyncio.wait_for(waiter, 5.0)
        assert time.monotonic() - start < 1.5

    async def test_other_instance_sees_the_same_queue(
        self, queue_index: QueueIndex, other_index: QueueIndex
    ) -> None:
        q = name()
        ids = await fill(queue_index, q, 2)
        assert [e.upload_id for e in await other_index.after(q, 0, 10)] == ids
        await other_index.remove(ids[0], 5.0)
        assert [e.upload_id for e in await queue_index.after(q, 0, 10)] == ids[1:]


async def woken_by_a_notification(waiting: QueueIndex, writer: QueueIndex) -> None:
    """`waiting` polls its store only once a minute: only a notification sent by
    `writer`'s append (another instance) can wake it within a second."""
    q = name()
    task = asyncio.ensure_future(waiting.wait(q, 0, 30.0))
    await asyncio.sleep(0.3)
    start = time.monotonic()
    await writer.append(q, name("s"), 1, "x/y", 1.0)
    assert await asyncio.wait_for(task, 5.0)
    assert time.monotonic() - start < 1.0
