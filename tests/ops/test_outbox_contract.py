"""Every outbox (SQLite, Redis, PostgreSQL) keeps the same promises: entries are claimed
under a lease, one upload's entries leave in order per sink, a failed entry comes back
after its due time with one more attempt, and two relays never hold the same entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.scale.test_postgres_store import DSN, pg_schema  # noqa: F401  (fixture)
from tests.scale.test_redis_store import URL, redis_prefix  # noqa: F401  (fixture)
from tuskit.persist.outbox_postgres import PostgresOutbox
from tuskit.persist.outbox_redis import RedisOutbox
from tuskit.persist.outbox_sqlite import SqliteOutbox
from tuskit.persist.protocols import Outbox, OutboxEntry

pytestmark = [pytest.mark.anyio]

Open = Callable[[], Awaitable[Outbox]]
T = 1_000.0


def entry(n: int, upload: str, sink: str = "http") -> OutboxEntry:
    return OutboxEntry(id=f"ev{n}", sink=sink, upload_id=upload, payload=f'{{"n":{n}}}')


async def _tracked(make: Open) -> AsyncIterator[Open]:
    opened: list[Outbox] = []

    async def tracked() -> Outbox:
        outbox = await make()
        opened.append(outbox)
        return outbox

    try:
        yield tracked
    finally:
        for outbox in opened:
            await outbox.close()


class OutboxContract:
    """Needs an `open_outbox` fixture: opens another outbox on one shared store."""

    async def test_one_upload_in_order_others_alongside(self, open_outbox: Open) -> None:
        box = await open_outbox()
        await box.add([entry(1, "a"), entry(2, "a"), entry(3, "b"), entry(4, "a")], T)
        assert await box.depth() == 4
        first = await box.claim(["http"], T, 10, 30)
        assert [e.id for e in first] == ["ev1", "ev3"]
        assert await box.claim(["http"], T, 10, 30) == []  # leased, and ev2 waits for ev1
        await box.done([first[0]])
        second = await box.claim(["http"], T, 10, 30)
        assert [e.id for e in second] == ["ev2"]
        assert second[0].payload == '{"n":2}' and second[0].upload_id == "a"
        await box.done([*second, first[1]])
        assert [e.id for e in await box.claim(["http"], T, 10, 30)] == ["ev4"]
        assert await box.depth() == 1

    async def test_retry_comes_back_later_with_one_more_attempt(self, open_outbox: Open) -> None:
        box = await open_outbox()
        await box.add([entry(1, "a"), entry(2, "a")], T)
        (claimed,) = await box.claim(["http"], T, 10, 30)
        await box.retry(claimed, T + 100)
        assert await box.claim(["http"], T + 50, 10, 30) == []  # not due; ev2 stays behind it
        (again,) = await box.claim(["http"], T + 100, 10, 30)
        assert (again.id, again.attempts) == ("ev1", 1)

    async def test_expired_lease_is_claimed_again(self, open_outbox: Open) -> None:
        box = await open_outbox()
        await box.add([entry(1, "a")], T)
        assert len(await box.claim(["http"], T, 10, 5)) == 1
        assert await box.claim(["http"], T + 4, 10, 5) == []
        assert [e.id for e in await box.claim(["http"], T + 6, 10, 5)] == ["ev1"]

    async def test_sinks_are_separate_queues(self, open_outbox: Open) -> None:
        box = await open_outbox()
        await box.add([entry(1, "a", "http"), entry(1, "a", "nats"), entry(1, "a", "nats")], T)
        assert await box.depth() == 2  # the same event twice for one sink is stored once
        nats = await box.claim(["nats"], T, 10, 30)
        assert [(e.id, e.sink) for e in nats] == [("ev1", "nats")]
        http = await box.claim(["http", "amqp"], T, 10, 30)
        assert [(e.id, e.sink) for e in http] == [("ev1", "http")]

    async def test_two_relays_never_hold_the_same_entry(self, open_outbox: Open) -> None:
        one, two = await open_outbox(), await open_outbox()
        await one.add([entry(n, f"u{n}") for n in range(40)], T)
        a, b = await asyncio.gather(one.claim(["http"], T, 25, 30), two.claim(["http"], T, 25, 30))
        ids = [e.id for e in a + b]
        assert len(ids) == len(set(ids)) == 40


class TestSqliteOutbox(OutboxContract):
    @pytest.fixture
    async def open_outbox(self, tmp_path: Path) -> AsyncIterator[Open]:
        async def make() -> Outbox:
            return SqliteOutbox(tmp_path / "outbox.sqlite3")

        async for opener in _tracked(make):
            yield opener


@pytest.mark.services
class TestRedisOutbox(OutboxContract):
    @pytest.fixture
    async def open_outbox(self, redis_prefix: str) -> AsyncIterator[Open]:  # noqa: F811
        async def make() -> Outbox:
            return RedisOutbox.from_url(URL, redis_prefix)

        async for opener in _tracked(make):
            yield opener


@pytest.mark.services
class TestPostgresOutbox(OutboxContract):
    @pytest.fixture
    async def open_outbox(self, pg_schema: str) -> AsyncIterator[Open]:  # noqa: F811
        async def make() -> Outbox:
            return await PostgresOutbox.open(DSN, pg_schema, max_size=2)

        async for opener in _tracked(make):
            yield opener
