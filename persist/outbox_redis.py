"""The event outbox in Redis, next to the upload state (same prefix).

Layout under `prefix`: `<prefix>ob:seq` (a counter), `<prefix>ob:q` (a sorted set of
entry numbers scored by number: the order events were added), `<prefix>ob:e:<n>` (a
hash per entry: id, sink, upload, payload, attempts, due, lease) and `<prefix>ob:known`
(the `id/sink` pairs waiting, so adding an event twice stores it once). `claim` is one script,
so two instances never claim the same entry; like the state store's purge it builds keys
inside the script (Redis Cluster would need a hash-tagged prefix). Durability is the
Redis server's (AOF `everysec` may lose the last second of events on a Redis crash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from .protocols import OutboxEntry

# KEYS: seq counter, queue, known. ARGV: entry key prefix, now, then 5 fields per entry.
_ADD = """
for i = 3, #ARGV, 5 do
  if redis.call('SADD', KEYS[3], ARGV[i] .. '/' .. ARGV[i + 1]) == 1 then
  local n = redis.call('INCR', KEYS[1])
  redis.call('HSET', ARGV[1] .. n, 'id', ARGV[i], 'sink', ARGV[i + 1], 'upload', ARGV[i + 2],
             'payload', ARGV[i + 3], 'attempts', ARGV[i + 4], 'due', ARGV[2], 'lease', 0)
  redis.call('ZADD', KEYS[2], n, n)
  end
end
return 1
"""

# KEYS: queue. ARGV: entry key prefix, now, limit, lease until, window, sinks...
# The oldest entry of each (sink, upload) in the first `window` entries, if due and free.
_CLAIM = """
local now = tonumber(ARGV[2])
local sinks = {}
for i = 6, #ARGV do sinks[ARGV[i]] = true end
local seen = {}
local out = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[5]) - 1)) do
  local key = ARGV[1] .. n
  local f = redis.call('HMGET', key, 'sink', 'upload', 'due', 'lease')
  if f[1] then
    local order = f[1] .. '/' .. f[2]
    if not seen[order] then
      seen[order] = true
      if sinks[f[1]] and tonumber(f[3]) <= now and tonumber(f[4]) <= now then
        redis.call('HSET', key, 'lease', ARGV[4])
        local g = redis.call('HMGET', key, 'id', 'payload', 'attempts')
        out[#out + 1] = {n, g[1], f[1], f[2], g[2], g[3]}
        if #out >= tonumber(ARGV[3]) then break end
      end
    end
  else
    redis.call('ZREM', KEYS[1], n)
  end
end
return out
"""


class RedisOutbox:
    """Outbox on Redis; the client must use `decode_responses=True`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tus:", *, window: int = 2000):
        self.client = client
        self._seq = f"{prefix}ob:seq"
        self._queue = f"{prefix}ob:q"
        self._entry = f"{prefix}ob:e:"
        self._known = f"{prefix}ob:known"
        self._window = window
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:") -> RedisOutbox:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    async def add(self, entries: Sequence[OutboxEntry], now: float) -> None:
        args: list[Any] = [self._entry, repr(now)]
        for e in entries:
            args += [e.id, e.sink, e.upload_id, e.payload, e.attempts]
        await self._add(keys=[self._seq, self._queue, self._known], args=args)

    async def claim(
        self, sinks: Sequence[str], now: float, limit: int, lease: float
    ) -> list[OutboxEntry]:
        if not sinks:
            return []
        args: list[str | int] = [self._entry, repr(now), limit, repr(now + lease), self._window]
        args += sinks
        rows: list[list[Any]] = await self._claim(keys=[self._queue], args=args)
        return [
            OutboxEntry(
                id=str(r[1]),
                sink=str(r[2]),
                upload_id=str(r[3]),
                payload=str(r[4]),
                attempts=int(r[5]),
                ref=str(r[0]),
            )
            for r in rows
        ]

    async def done(self, entries: Sequence[OutboxEntry]) -> None:
        if not entries:
            return
        pipe = self.client.pipeline(transaction=True)
        for e in entries:
            pipe.delete(self._entry + e.ref)
            pipe.zrem(self._queue, e.ref)
            pipe.srem(self._known, f"{e.id}/{e.sink}")
        await pipe.execute()

    async def retry(self, entry: OutboxEntry, due: float) -> None:
        await self.client.hset(
            self._entry + entry.ref,
            mapping={"due": repr(due), "lease": 0, "attempts": entry.attempts + 1},
        )

    async def depth(self) -> int:
        return int(await self.client.zcard(self._queue))

    async def close(self) -> None:
        await self.client.aclose()
