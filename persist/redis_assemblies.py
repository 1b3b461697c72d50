"""Assemblies in Redis, shared by every instance that points at the same Redis.

Layout under `<prefix>asm:` (the uploads' prefix, e.g. `tus:asm:`):
- `a:<id>`: a hash per assembly: `doc` (JSON of the fields nothing queries; floats as
  `repr`, so they round-trip exactly), `state`, `updated_at`, `expires_at` ('' for none);
- `p:<id>`: a hash of its stored parts, index -> `size:receipt`;
- `due`: sorted set id -> expires_at of ACTIVE assemblies that expire;
- `unsettled`: set of COMPLETING / ABORTING / EXPIRING ids;
- `settled`: sorted set id -> updated_at of COMPLETED / ABORTED / EXPIRED ones.
Every change touching a record, its parts or an index is one Lua script, so a part is
recorded or cleared only while its assembly is ACTIVE, atomically with respect to a
change of state, across instances.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as aioredis

from .assembly import UNSETTLED, Assembly, AssemblyState, StoredPart
from .protocols import UploadExists

_PAGE = 500

# KEYS: record, due, unsettled, settled
# ARGV: mode (create|swap), id, expect (",a,b," for swap), doc, state, updated_at, expires_at
_PUT = """
local cur = redis.call('HGET', KEYS[1], 'state')
if ARGV[1] == 'create' then
  if cur then return 0 end
else
  if not cur or not string.find(ARGV[3], ',' .. cur .. ',', 1, true) then return 0 end
end
local id, state = ARGV[2], ARGV[5]
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'state', state, 'updated_at', ARGV[6],
           'expires_at', ARGV[7])
if state == 'active' then
  if ARGV[7] == '' then redis.call('ZREM', KEYS[2], id)
  else redis.call('ZADD', KEYS[2], ARGV[7], id) end
  redis.call('SREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
elseif state == 'completing' or state == 'aborting' or state == 'expiring' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('SADD', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
else
  redis.call('ZREM', KEYS[2], id)
  redis.call('SREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[6], id)
end
return 1
"""

# KEYS: record, parts; ARGV: index
_CLEAR = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: record, parts, due; ARGV: id, index, value, updated_at, expires_at
_PART = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[1], 'updated_at', ARGV[4], 'expires_at', ARGV[5])
if ARGV[5] == '' then redis.call('ZREM', KEYS[3], ARGV[1])
else redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1]) end
return redis.call('HLEN', KEYS[2])
"""

# KEYS: settled; ARGV: key prefix, older_than, batch
_PURGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. 'a:' .. id, ARGV[1] .. 'p:' .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""


def _doc(a: Assembly) -> str:
    return json.dumps(
        {
            "upload_id": a.upload_id,
            "length": a.length,
            "part_size": a.part_size,
            "metadata": [list(kv) for kv in a.metadata],
            "digest": a.digest,
            "created_at": a.created_at,
            "storage": [list(kv) for kv in a.storage],
        },
        separators=(",", ":"),
    )


def _assembly(assembly_id: str, h: Mapping[str, str]) -> Assembly:
    d = json.loads(h["doc"])
    expires = h.get("expires_at", "")
    return Assembly(
        id=assembly_id,
        upload_id=d["upload_id"],
        length=int(d["length"]),
        part_size=int(d["part_size"]),
        metadata=tuple((str(k), str(v)) for k, v in d["metadata"]),
        digest=d["digest"],
        state=AssemblyState(h["state"]),
        created_at=float(d["created_at"]),
        updated_at=float(h["updated_at"]),
        expires_at=float(expires) if expires else None,
        storage=tuple((str(k), str(v)) for k, v in d["storage"]),
    )


def _time(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class RedisAssemblyStore:
    """AssemblyStore on Redis; the client must use `decode_responses=True`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "tus:") -> None:
        if not client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("RedisAssemblyStore needs a client with decode_responses=True")
        self.client = client
        self.prefix = f"{prefix}asm:"
        self._due = f"{self.prefix}due"
        self._unsettled = f"{self.prefix}unsettled"
        self._settled = f"{self.prefix}settled"
        self._put = client.register_script(_PUT)
        self._clear = client.register_script(_CLEAR)
        self._part = client.register_script(_PART)
        self._purge = client.register_script(_PURGE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:") -> RedisAssemblyStore:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix)

    def _key(self, assembly_id: str) -> str:
        return f"{self.prefix}a:{assembly_id}"

    def _parts(self, assembly_id: str) -> str:
        return f"{self.prefix}p:{assembly_id}"

    async def _write(self, mode: str, a: Assembly, expect: frozenset[AssemblyState]) -> bool:
        keys = [self._key(a.id), self._due, self._unsettled, self._settled]
        args = [
            mode,
            a.id,
            "," + ",".join(s.value for s in expect) + ",",
            _doc(a),
            AssemblyState(a.state).value,
            repr(float(a.updated_at)),
            _time(a.expires_at),
        ]
        return bool(await self._put(keys=keys, args=args))

    async def create_assembly(self, assembly: Assembly) -> None:
        if not await self._write("create", assembly, frozenset()):
            raise UploadExists(assembly.id)

    async def get_assembly(self, assembly_id: str) -> Assembly | None:
        h = cast(dict[str, str], await self.client.hgetall(self._key(assembly_id)))
        return _assembly(assembly_id, h) if h else None

    async def stored_parts(self, assembly_id: str) -> list[StoredPart]:
        h = cast(dict[str, str], await self.client.hgetall(self._parts(assembly_id)))
        parts = []
        for index, value in h.items():
            size, _, receipt = value.partition(":")
            parts.append(StoredPart(int(index), int(size), receipt))
        return sorted(parts, key=lambda p: p.index)

    async def clear_part(self, assembly_id: str, index: int) -> bool:
        keys = [self._key(assembly_id), self._parts(assembly_id)]
        return bool(await self._clear(keys=keys, args=[index]))

    async def put_part(
        self, assembly_id: str, part: StoredPart, now: float, expires_at: float | None
    ) -> int | None:
        keys = [self._key(assembly_id), self._parts(assembly_id), self._due]
        args: list[str | int] = [
            assembly_id,
            part.index,
            f"{part.size}:{part.receipt}",
            repr(float(now)),
            _time(expires_at),
        ]
        count = int(await self._part(keys=keys, args=args))
        return None if count < 0 else count

    async def clear_parts(self, assembly_id: str) -> None:
        await self.client.delete(self._parts(assembly_id))

    async def swap_assembly(self, assembly: Assembly, expect: frozenset[AssemblyState]) -> bool:
        return await self._write("swap", assembly, expect)

    async def due_assemblies(self, now: float, limit: int) -> list[Assembly]:
        ids = await self.client.zrangebyscore(self._due, "-inf", f"({now!r}", start=0, num=limit)
        found = [a for a in await self._many(cast(list[str], ids)) if a.state.value == "active"]
        return sorted(found, key=lambda a: (a.expires_at or 0.0, a.id))

    async def unsettled_assemblies(self, limit: int) -> list[Assembly]:
        ids = sorted(cast(set[str], await self.client.smembers(self._unsettled)))[:limit]
        return [a for a in await self._many(ids) if a.state in UNSETTLED]

    async def purge_assemblies(self, older_than: float) -> int:
        total = 0
        while True:
            n = int(
                await self._purge(
                    keys=[self._settled], args=[self.prefix, repr(float(older_than)), _PAGE]
                )
            )
            total += n
            if n < _PAGE:
                return total

    async def close(self) -> None:
        await self.client.aclose()

    async def _many(self, ids: list[str]) -> list[Assembly]:
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for assembly_id in ids:
            pipe.hgetall(self._key(assembly_id))
        rows: list[Any] = await pipe.execute()
        return [_assembly(i, h) for i, h in zip(ids, rows, strict=True) if h]
