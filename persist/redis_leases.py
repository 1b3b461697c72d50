"""Read leases and retired uploads in Redis, shared by every instance on the same Redis.

Layout under `prefix`: `<prefix>rl:<id>` is a sorted set reader -> lease end (the key
expires a while after its last lease, so crashed readers leave nothing behind);
`<prefix>retired` a sorted set id -> retirement time and `<prefix>retired:<id>` the
record. `retire` and `reclaimable` are Lua scripts, so recording a retirement and
counting live leases is one atomic step against a reader taking a lease.
"""

from __future__ import annotations

import time
from typing import Any, cast

import redis.asyncio as aioredis

from .leases import retired_info, retired_record
from .model import UploadInfo

KEEP = 3600
"""Seconds a lease key outlives its latest lease."""

# KEYS: leases, retired, record; ARGV: id, now, record
_RETIRE = """
redis.call('SET', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
"""

# KEYS: retired; ARGV: prefix, now, limit
_RECLAIMABLE = """
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  if #out >= tonumber(ARGV[3]) then break end
  if redis.call('ZCOUNT', ARGV[1] .. 'rl:' .. id, '(' .. ARGV[2], '+inf') == 0 then
    local record = redis.call('GET', ARGV[1] .. 'retired:' .. id)
    if record then table.insert(out, record) else redis.call('ZREM', KEYS[1], id) end
  end
end
return out
"""


class RedisReadLeases:
    """ReadLeases on Redis; the client must use `decode_responses=True`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tus:") -> None:
        if not client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("RedisReadLeases needs a client with decode_responses=True")
        self.client = client
        self.prefix = prefix
        self._retired = f"{prefix}retired"
        self._retire = client.register_script(_RETIRE)
        self._reclaimable = client.register_script(_RECLAIMABLE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:") -> RedisReadLeases:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    def _leases(self, upload_id: str) -> str:
        return f"{self.prefix}rl:{upload_id}"

    async def hold(self, upload_id: str, reader: str, until: float) -> None:
        key = self._leases(upload_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(key, {reader: until})
        pipe.expire(key, int(max(0.0, until - time.time())) + KEEP)
        await pipe.execute()

    async def release(self, upload_id: str, reader: str) -> None:
        await self.client.zrem(self._leases(upload_id), reader)

    async def retire(self, info: UploadInfo, now: float) -> bool:
        keys = [self._leases(info.id), self._retired, f"{self._retired}:{info.id}"]
        live = await self._retire(keys=keys, args=[info.id, repr(float(now)), retired_record(info)])
        return int(live) == 0

    async def reclaimable(self, now: float, limit: int) -> list[UploadInfo]:
        records = await self._reclaimable(
            keys=[self._retired], args=[self.prefix, repr(float(now)), limit]
        )
        return [retired_info(r) for r in cast(list[Any], records)]

    async def reclaimed(self, upload_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self._retired, upload_id)
        pipe.delete(f"{self._retired}:{upload_id}", self._leases(upload_id))
        await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()
