"""FIFO queues of finished uploads in Redis, shared by every instance on the same Redis.

Layout under `prefix` (the deployment's `--redis-prefix`), beside the upload records:
- `<prefix>q:last:<queue>`: the queue's sequence counter (INCR, never reused);
- `<prefix>q:live:<queue>`: sorted set upload id -> seq of the live entries;
- `<prefix>q:e:<id>`: hash of an entry (queue, seq, size, ct, created, removed), kept
  after removal so a position taken from a removed entry still means something;
- `<prefix>q:counts`: hash queue -> live entries; `<prefix>q:removed`: sorted set
  id -> removal time (to forget old positions).
Appends and removals are one Lua script each: the counter, the sorted set, the entry
and the counts change together, and Redis runs scripts one at a time, so sequence order
is the order appends happened. An append PUBLISHes the queue's name on
`<prefix>q:notify`; each process keeps one subscription and wakes its waiting requests,
with a poll of the counter every `poll` seconds as the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

import redis.asyncio as aioredis

from .protocols import QueueEntry
from .wakeups import Wakeups

log = logging.getLogger(__name__)

POLL = 1.0
_PAGE = 500

# KEYS: last, live, entry, counts, removed; ARGV: queue, id, size, ct, created, channel
_APPEND = """
if redis.call('HGET', KEYS[3], 'removed') == '' then return -1 end
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'queue', ARGV[1], 'seq', seq, 'size', ARGV[3], 'ct', ARGV[4],
           'created', ARGV[5], 'removed', '')
redis.call('ZREM', KEYS[5], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('PUBLISH', ARGV[6], ARGV[1])
return seq
"""

# KEYS: entry, counts, removed; ARGV: id, now, prefix
_REMOVE = """
local q = redis.call('HGET', KEYS[1], 'queue')
if not q or redis.call('HGET', KEYS[1], 'removed') ~= '' then return false end
redis.call('HSET', KEYS[1], 'removed', ARGV[2])
redis.call('ZREM', ARGV[3] .. 'q:live:' .. q, ARGV[1])
if redis.call('HINCRBY', KEYS[2], q, -1) <= 0 then redis.call('HDEL', KEYS[2], q) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return redis.call('HMGET', KEYS[1], 'queue', 'seq', 'size', 'ct', 'created')
"""

# KEYS: removed; ARGV: prefix, older_than, batch
_FORGET = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. 'q:e:' .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""

_FIELDS = ("queue", "seq", "size", "ct", "created", "removed")


def _entry(upload_id: str, values: list[Any]) -> QueueEntry | None:
    queue, seq, size, ct, created, removed = values
    if queue is None:
        return None
    return QueueEntry(
        str(queue),
        int(seq),
        upload_id,
        int(size),
        str(ct),
        float(created),
        float(removed) if removed else None,
    )


class RedisQueueIndex:
    """QueueIndex on Redis; the client must use `decode_responses=True`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tus:", *, poll: float = POLL):
        if not client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("RedisQueueIndex needs a client with decode_responses=True")
        self.client = client
        self.prefix = prefix
        self.poll = poll
        self.channel = f"{prefix}q:notify"
        self._counts = f"{prefix}q:counts"
        self._removed = f"{prefix}q:removed"
        self._append = client.register_script(_APPEND)
        self._remove = client.register_script(_REMOVE)
        self._forget = client.register_script(_FORGET)
        self._wakeups = Wakeups()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:") -> RedisQueueIndex:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    def _live(self, queue: str) -> str:
        return f"{self.prefix}q:live:{queue}"

    def _entry_key(self, upload_id: str) -> str:
        return f"{self.prefix}q:e:{upload_id}"

    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        keys = [
            f"{self.prefix}q:last:{queue}",
            self._live(queue),
            self._entry_key(upload_id),
            self._counts,
            self._removed,
        ]
        args: list[str | int] = [
            queue, upload_id, size, content_type, repr(float(created)), self.channel,
        ]  # fmt: skip
        seq = int(await self._append(keys=keys, args=args))
        if seq < 0:
            raise ValueError(f"upload {upload_id} is already in a queue")
        self._wakeups.notify(queue)
        return QueueEntry(queue, seq, upload_id, size, content_type, created)

    async def remove(self, upload_id: str, now: float) -> QueueEntry | None:
        keys = [self._entry_key(upload_id), self._counts, self._removed]
        values = await self._remove(keys=keys, args=[upload_id, repr(float(now)), self.prefix])
        if not values:
            return None
        return _entry(upload_id, [*cast(list[Any], values), None])

    async def locate(self, upload_id: str) -> QueueEntry | None:
        values = await self.client.hmget(self._entry_key(upload_id), list(_FIELDS))
        return _entry(upload_id, cast(list[Any], values))

    async def _entries(self, ids: list[str]) -> list[QueueEntry]:
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for upload_id in ids:
            pipe.hmget(self._entry_key(upload_id), list(_FIELDS))
        rows: list[Any] = await pipe.execute()
        found = [_entry(i, r) for i, r in zip(ids, rows, strict=True)]
        return [e for e in found if e is not None and e.removed is None]

    async def after(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        ids = await self.client.zrangebyscore(self._live(queue), f"({seq}", "+inf", 0, limit)
        return await self._entries(cast(list[str], ids))

    async def before(self, queue: str, seq: int, limit: int) -> list[QueueEntry]:
        ids = await self.client.zrevrangebyscore(self._live(queue), f"({seq}", "-inf", 0, limit)
        return await self._entries(cast(list[str], ids))

    async def counts(self) -> list[tuple[str, int]]:
        found = cast(dict[str, str], await self.client.hgetall(self._counts))
        return sorted((q, int(n)) for q, n in found.items() if int(n) > 0)

    async def last_seq(self, queue: str) -> int:
        value = await self.client.get(f"{self.prefix}q:last:{queue}")
        return int(value) if value else 0

    async def wait(self, queue: str, seen: int, timeout: float) -> bool:
        await self._listen()

        async def ready() -> bool:
            return await self.last_seq(queue) > seen

        return await self._wakeups.wait_for(queue, ready, timeout, self.poll)

    async def _listen(self) -> None:
        """Start this process's subscription once; wait (briefly) until it is active."""
        if self._listener is None or self._listener.done():
            self._subscribed.clear()
            self._listener = asyncio.get_running_loop().create_task(
                self._run_listener(), name="queue-notify"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 2.0)

    async def _run_listener(self) -> None:
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                self._wakeups.notify_all()  # anything missed while (re)connecting
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._wakeups.notify(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("queue notifications from Redis interrupted; retrying", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def forget_removed(self, older_than: float) -> int:
        total = 0
        while True:
            n = int(
                await self._forget(
                    keys=[self._removed], args=[self.prefix, repr(float(older_than)), _PAGE]
                )
            )
            total += n
            if n < _PAGE:
                return total

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        self._wakeups.notify_all()
        await self.client.aclose()
