"""Upload state in Redis, shared by every server instance that points at the same Redis.

Layout under `prefix` (default `tus:`); one Redis (or a primary with replicas) is
assumed. `purge_tombstones` builds record keys inside its script, so Redis Cluster would
need a hash-tagged prefix such as `{tus}:` (untested):
- `<prefix>u:<id>`: a hash per record. `doc` is the JSON of the fields nothing queries
  (floats as `repr`, so they round-trip exactly); `state`, `updated_at` are separate
  fields so `mark` is one HSET without rewriting the JSON; `xscore` is the expiry score
  when the record counts for `expired()` ('' otherwise), kept so `mark(..., ACTIVE)` can
  restore it; `partials` (JSON) lets `purge_tombstones` clean the partial indexes.
- `<prefix>active`: set of active ids (`all_active` walks it with SSCAN, pages of 500).
- `<prefix>expiry`: sorted set id -> expires_at of active, unfinished uploads.
- `<prefix>tombstones`: sorted set id -> updated_at of tombstones (purge by score).
- `<prefix>finals:<partial id>`: set of final ids listing that partial.

Every change that touches a record and its indexes is one Lua script, so readers never
see a record without its index entries (or the reverse), even with many instances.
Durability is whatever the Redis server is configured for (AOF `everysec` loses at most
a second of offsets; recovery then lowers offsets only if the byte store lost bytes too).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis

from .model import UploadInfo, UploadState
from .protocols import UploadExists, UploadNotFound

if TYPE_CHECKING:
    from .redis_lock import RedisLocker

_PAGE = 500

# KEYS: record, expiry, active, tombstones, finals sets...
# ARGV: mode(create|save), id, doc, state, updated_at, xscore, partials-json
_PUT = """
local exists = redis.call('EXISTS', KEYS[1])
if ARGV[1] == 'create' and exists == 1 then return 0 end
if ARGV[1] == 'save' and exists == 0 then return 0 end
local id = ARGV[2]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'state', ARGV[4], 'updated_at', ARGV[5],
           'xscore', ARGV[6], 'partials', ARGV[7])
if ARGV[4] == 'active' then
  redis.call('SADD', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  if ARGV[6] == '' then redis.call('ZREM', KEYS[2], id)
  else redis.call('ZADD', KEYS[2], ARGV[6], id) end
else
  redis.call('SREM', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[4], ARGV[5], id)
end
for i = 5, #KEYS do redis.call('SADD', KEYS[i], id) end
return 1
"""

# KEYS: record, expiry, active, tombstones; ARGV: id, state, updated_at
_MARK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[1]
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[3])
if ARGV[2] == 'active' then
  redis.call('SADD', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  local x = redis.call('HGET', KEYS[1], 'xscore')
  if x and x ~= '' then redis.call('ZADD', KEYS[2], x, id) end
else
  redis.call('SREM', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[4], ARGV[3], id)
end
return 1
"""

# KEYS: tombstones; ARGV: prefix, older_than, batch. Builds record/finals keys from the
# prefix (they share its hash tag, so this is cluster-safe when the prefix has one).
_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  local key = ARGV[1] .. 'u:' .. id
  local partials = redis.call('HGET', key, 'partials')
  if partials and partials ~= '' and partials ~= 'null' then
    for _, p in ipairs(cjson.decode(partials)) do
      redis.call('SREM', ARGV[1] .. 'finals:' .. p, id)
    end
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""


def _doc(info: UploadInfo) -> str:
    return json.dumps(
        {
            "length": info.length,
            "offset": info.offset,
            "metadata": [list(kv) for kv in info.metadata],
            "is_partial": info.is_partial,
            "partials": None if info.partials is None else list(info.partials),
            "created_at": info.created_at,
            "expires_at": info.expires_at,
            "storage": [list(kv) for kv in info.storage],
        },
        separators=(",", ":"),
    )


def _xscore(info: UploadInfo) -> str:
    """The expiry score when this record is due for `expired()` once past it, else ''."""
    if info.expires_at is None or info.is_complete:
        return ""
    return repr(float(info.expires_at))


def _info(upload_id: str, h: Mapping[str, str]) -> UploadInfo:
    d = json.loads(h["doc"])
    return UploadInfo(
        id=upload_id,
        length=d["length"],
        offset=d["offset"],
        metadata=tuple((str(k), str(v)) for k, v in d["metadata"]),
        is_partial=bool(d["is_partial"]),
        partials=None if d["partials"] is None else tuple(d["partials"]),
        created_at=float(d["created_at"]),
        updated_at=float(h["updated_at"]),
        expires_at=None if d["expires_at"] is None else float(d["expires_at"]),
        state=UploadState(h["state"]),
        storage=tuple((str(k), str(v)) for k, v in d["storage"]),
    )


class RedisMetadataStore:
    """MetadataStore on Redis; the client must use `decode_responses=True`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tus:") -> None:
        if not client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("RedisMetadataStore needs a client with decode_responses=True")
        self.client = client
        self.prefix = prefix
        self._expiry = f"{prefix}expiry"
        self._active = f"{prefix}active"
        self._tombstones = f"{prefix}tombstones"
        self._put = client.register_script(_PUT)
        self._mark = client.register_script(_MARK)
        self._purge = client.register_script(_PURGE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:") -> RedisMetadataStore:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    def _key(self, upload_id: str) -> str:
        return f"{self.prefix}u:{upload_id}"

    async def _write(self, mode: str, info: UploadInfo) -> bool:
        finals = [f"{self.prefix}finals:{p}" for p in info.partials or ()]
        keys = [self._key(info.id), self._expiry, self._active, self._tombstones, *finals]
        args = [
            mode,
            info.id,
            _doc(info),
            UploadState(info.state).value,
            repr(float(info.updated_at)),
            _xscore(info),
            json.dumps(None if info.partials is None else list(info.partials)),
        ]
        return bool(await self._put(keys=keys, args=args))

    async def create(self, info: UploadInfo) -> None:
        if not await self._write("create", info):
            raise UploadExists(info.id)

    async def get(self, upload_id: str) -> UploadInfo | None:
        h = await self._hgetall(self._key(upload_id))
        return _info(upload_id, h) if h else None

    async def save(self, info: UploadInfo) -> None:
        if not await self._write("save", info):
            raise UploadNotFound(info.id)

    async def mark(self, upload_id: str, state: UploadState, now: float) -> None:
        keys = [self._key(upload_id), self._expiry, self._active, self._tombstones]
        args = [upload_id, UploadState(state).value, repr(float(now))]
        if not await self._mark(keys=keys, args=args):
            raise UploadNotFound(upload_id)

    async def expired(self, now: float, limit: int) -> list[UploadInfo]:
        ids = await self.client.zrangebyscore(self._expiry, "-inf", f"({now!r}", start=0, num=limit)
        found = [
            i
            for i in await self._many(cast(list[str], ids))
            if i.state is UploadState.ACTIVE and not i.is_complete
        ]
        return sorted(found, key=lambda i: (i.expires_at or 0.0, i.id))

    async def finals_waiting_on(self, partial_id: str) -> list[UploadInfo]:
        ids = await self.client.smembers(f"{self.prefix}finals:{partial_id}")
        found = [
            i
            for i in await self._many(sorted(cast(set[str], ids)))
            if i.state is UploadState.ACTIVE and not i.is_complete
        ]
        return found

    async def all_active(self) -> AsyncIterator[UploadInfo]:
        """SSCAN over the active set in pages; an id may repeat if Redis rehashes meanwhile."""
        cursor = 0
        while True:
            cursor, ids = await self.client.sscan(self._active, cursor, count=_PAGE)
            for info in await self._many(cast(list[str], ids)):
                if info.state is UploadState.ACTIVE:
                    yield info
            if cursor == 0:
                return

    async def purge_tombstones(self, older_than: float) -> int:
        total = 0
        while True:
            n = int(
                await self._purge(
                    keys=[self._tombstones], args=[self.prefix, repr(float(older_than)), _PAGE]
                )
            )
            total += n
            if n < _PAGE:
                return total

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()

    async def _hgetall(self, key: str) -> dict[str, str]:
        return cast(dict[str, str], await self.client.hgetall(key))

    async def _many(self, ids: list[str]) -> list[UploadInfo]:
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for upload_id in ids:
            pipe.hgetall(self._key(upload_id))
        rows: list[Any] = await pipe.execute()
        return [_info(i, h) for i, h in zip(ids, rows, strict=True) if h]


def open_redis(
    url: str, prefix: str = "tus:", *, lease: float = 10.0
) -> tuple[RedisMetadataStore, RedisLocker]:
    """Metadata store and locker sharing one client (closed by the store, which
    `StoreComposer.close` closes after the locker)."""
    from .redis_lock import RedisLocker

    client = aioredis.Redis.from_url(url, decode_responses=True)
    return RedisMetadataStore(client, prefix), RedisLocker(client, prefix, lease=lease)
