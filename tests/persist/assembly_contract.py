"""The contract of assembly from parts, reused by every store's tests.

`AssemblyStoreContract` needs an `assembly_store` fixture (SQLite, memory, Redis,
PostgreSQL); `PartStoreContract` a `parts_env` fixture: a PartStore with the byte store
whose reader serves assembled uploads, and a `leftovers()` check (file and S3).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from tuskit.persist.assembly import Assembly, AssemblyState, StoredPart
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import (
    AssemblyStore,
    ContentReader,
    PartStore,
    StoreError,
    UploadExists,
)

pytestmark = pytest.mark.anyio

_ids = itertools.count()
ACTIVE = frozenset({AssemblyState.ACTIVE})


def new_id(prefix: str = "asm") -> str:
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


def assembly(**changes: object) -> Assembly:
    base = Assembly(
        id=new_id(),
        upload_id=new_id("up"),
        length=10_000,
        part_size=4096,
        metadata=(("filename", "a b.txt"), ("filetype", "text/plain")),
        digest="sha256:AAAA",
        created_at=1000.25,
        updated_at=1000.5,
        expires_at=2000.125,
        storage=(("k", "v"),),
    )
    return base.replace(**changes)


class AssemblyStoreContract:
    async def test_create_then_get_is_equal(self, assembly_store: AssemblyStore) -> None:
        a = assembly()
        await assembly_store.create_assembly(a)
        assert await assembly_store.get_assembly(a.id) == a
        assert await assembly_store.get_assembly("never") is None
        with pytest.raises(UploadExists):
            await assembly_store.create_assembly(a.replace(length=5))
        got = await assembly_store.get_assembly(a.id)
        assert got is not None and got.length == 10_000

    async def test_none_digest_and_expiry_round_trip(self, assembly_store: AssemblyStore) -> None:
        a = assembly(digest=None, expires_at=None, metadata=(), storage=())
        await assembly_store.create_assembly(a)
        assert await assembly_store.get_assembly(a.id) == a

    async def test_parts_are_counted_replaced_and_listed_in_order(
        self, assembly_store: AssemblyStore
    ) -> None:
        a = assembly()
        await assembly_store.create_assembly(a)
        assert await assembly_store.put_part(a.id, StoredPart(2, 1808, "e2"), 1100.0, 3000.0) == 1
        assert await assembly_store.put_part(a.id, StoredPart(0, 4096, "e0"), 1101.0, 3001.0) == 2
        assert await assembly_store.put_part(a.id, StoredPart(0, 4096, "e0b"), 1102.0, 3002.0) == 2
        assert await assembly_store.stored_parts(a.id) == [
            StoredPart(0, 4096, "e0b"),
            StoredPart(2, 1808, "e2"),
        ]
        got = await assembly_store.get_assembly(a.id)
        assert got is not None and (got.updated_at, got.expires_at) == (1102.0, 3002.0)
        assert await assembly_store.clear_part(a.id, 0)
        assert [p.index for p in await assembly_store.stored_parts(a.id)] == [2]
        await assembly_store.clear_parts(a.id)
        assert await assembly_store.stored_parts(a.id) == []

    async def test_parts_change_only_while_active(self, assembly_store: AssemblyStore) -> None:
        a = assembly()
        await assembly_store.create_assembly(a)
        await assembly_store.put_part(a.id, StoredPart(1, 4096, "x"), 1100.0, None)
        moving = a.replace(state=AssemblyState.COMPLETING, updated_at=1200.0)
        assert await assembly_store.swap_assembly(moving, ACTIVE)
        assert not await assembly_store.swap_assembly(moving, ACTIVE)  # no longer active
        assert await assembly_store.clear_part(a.id, 1) is False
        assert await assembly_store.put_part(a.id, StoredPart(0, 4096, "y"), 1300.0, None) is None
        assert [p.index for p in await assembly_store.stored_parts(a.id)] == [1]
        assert await assembly_store.get_assembly(a.id) == moving
        assert await assembly_store.clear_part("never", 0) is False
        assert await assembly_store.put_part("never", StoredPart(0, 1, ""), 1.0, None) is None

    async def test_due_unsettled_and_purge(self, assembly_store: AssemblyStore) -> None:
        due = assembly(expires_at=1500.0)
        later = assembly(expires_at=5000.0)
        never = assembly(expires_at=None)
        done = assembly(state=AssemblyState.COMPLETED, updated_at=1000.0, expires_at=None)
        for a in (due, later, never, done):
            await assembly_store.create_assembly(a)
        await assembly_store.put_part(done.id, StoredPart(0, 4096, "z"), 1000.0, None)
        ids = {a.id for a in await assembly_store.due_assemblies(1600.0, 100)}
        assert due.id in ids and not ids & {later.id, never.id, done.id}
        # A stored part moves the expiry: no longer due.
        await assembly_store.put_part(due.id, StoredPart(0, 4096, ""), 1550.0, 9000.0)
        assert due.id not in {a.id for a in await assembly_store.due_assemblies(1600.0, 100)}

        aborting = later.replace(state=AssemblyState.ABORTING)
        assert await assembly_store.swap_assembly(aborting, ACTIVE)
        assert aborting.id in {a.id for a in await assembly_store.unsettled_assemblies(100)}
        assert later.id not in {a.id for a in await assembly_store.due_assemblies(9e9, 100)}
        aborted = aborting.replace(state=AssemblyState.ABORTED, updated_at=1700.0)
        assert await assembly_store.swap_assembly(aborted, frozenset({AssemblyState.ABORTING}))
        assert aborting.id not in {a.id for a in await assembly_store.unsettled_assemblies(100)}

        assert await assembly_store.purge_assemblies(1650.0) >= 1  # `done` (updated 1000)
        assert await assembly_store.get_assembly(done.id) is None
        assert await assembly_store.stored_parts(done.id) == []
        assert await assembly_store.get_assembly(aborted.id) == aborted  # newer: kept
        assert await assembly_store.get_assembly(never.id) is not None  # active: kept

    async def test_parallel_parts_and_a_state_change_never_interleave(
        self, assembly_store: AssemblyStore
    ) -> None:
        """Writers record parts while completion switches the state: every part either
        counted before the switch (and listed after it) or refused."""
        a = assembly(length=64 * 4096)
        await assembly_store.create_assembly(a)

        async def put(i: int) -> int | None:
            await asyncio.sleep(0)
            return await assembly_store.put_part(a.id, StoredPart(i, 4096, f"e{i}"), 1.0, None)

        async def switch() -> bool:
            await asyncio.sleep(0)
            return await assembly_store.swap_assembly(
                a.replace(state=AssemblyState.COMPLETING), ACTIVE
            )

        results = await asyncio.gather(*(put(i) for i in range(64)), switch())
        accepted = {i for i, r in enumerate(results[:64]) if r is not None}
        assert results[64] is True
        assert {p.index for p in await assembly_store.stored_parts(a.id)} == accepted
        counts = [r for r in results[:64] if r is not None]
        assert sorted(counts) == list(range(1, len(counts) + 1))


@dataclass
class PartsEnv:
    parts: PartStore
    reader: ContentReader
    leftovers: Callable[[UploadInfo], Awaitable[list[str]]]
    """What storage still holds for an upload (names), for 'nothing left' checks."""
    part_size: int


async def _write(parts: PartStore, target: UploadInfo, index: int, data: bytes, p: int) -> str:
    writer = await parts.open_part(target, index, index * p, len(data))
    for start in range(0, len(data), 100_000):
        await writer.write(data[start : start + 100_000])
    return await writer.commit()


async def _read(env: PartsEnv, target: UploadInfo) -> bytes:
    return b"".join([c async for c in env.reader.read(target, 0, target.length or 0)])


async def _begin(env: PartsEnv, length: int) -> UploadInfo:
    target = UploadInfo(id=new_id("up"), length=length, offset=length)
    return target.replace(storage=await env.parts.begin_parts(target, env.part_size))


def _split(data: bytes, p: int) -> list[bytes]:
    return [data[i : i + p] for i in range(0, len(data), p)] or [b""]


class PartStoreContract:
    async def test_parts_in_any_order_and_parallel_assemble_in_place(
        self, parts_env: PartsEnv
    ) -> None:
        p = parts_env.part_size
        data = os.urandom(3 * p + 1234)
        target = await _begin(parts_env, len(data))
        chunks = _split(data, p)
        order = [3, 1, 0, 2]
        receipts = await asyncio.gather(
            *(_write(parts_env.parts, target, i, chunks[i], p) for i in order)
        )
        stored = sorted(
            (StoredPart(i, len(chunks[i]), r) for i, r in zip(order, receipts, strict=True)),
            key=lambda s: s.index,
        )
        await parts_env.parts.assemble(target, stored)
        await parts_env.parts.assemble(target, stored)  # a retry after a crash: no harm
        assert await _read(parts_env, target) == data
        await parts_env.parts.finish_parts(target)
        assert await _read(parts_env, target) == data

    async def test_a_discarded_rewrite_and_a_retry(self, parts_env: PartsEnv) -> None:
        p = parts_env.part_size
        data = os.urandom(2 * p)
        target = await _begin(parts_env, len(data))
        r0 = await _write(parts_env.parts, target, 0, data[:p], p)
        writer = await parts_env.parts.open_part(target, 1, p, p)
        await writer.write(os.urandom(1000))
        await writer.discard()
        with pytest.raises(StoreError):
            await writer.commit()  # ended
        r1 = await _write(parts_env.parts, target, 1, data[p:], p)
        await parts_env.parts.assemble(target, [StoredPart(0, p, r0), StoredPart(1, p, r1)])
        assert await _read(parts_env, target) == data

    async def test_a_part_cannot_pass_its_length(self, parts_env: PartsEnv) -> None:
        p = parts_env.part_size
        target = await _begin(parts_env, 2 * p)
        writer = await parts_env.parts.open_part(target, 0, 0, p)
        await writer.write(b"x" * p)
        with pytest.raises(StoreError):
            await writer.write(b"y")
        await writer.discard()
        await parts_env.parts.abandon_parts(target)

    async def test_reopen_forgets_the_result_and_takes_parts_again(
        self, parts_env: PartsEnv
    ) -> None:
        p = parts_env.part_size
        first, second = os.urandom(p + 10), os.urandom(p + 10)
        target = await _begin(parts_env, len(first))

        async def put_all(data: bytes, t: UploadInfo) -> list[StoredPart]:
            chunks = _split(data, p)
            return [
                StoredPart(i, len(c), await _write(parts_env.parts, t, i, c, p))
                for i, c in enumerate(chunks)
            ]

        await parts_env.parts.assemble(target, await put_all(first, target))
        assert await _read(parts_env, target) == first
        target = target.replace(storage=await parts_env.parts.reopen_parts(target))
        await parts_env.parts.assemble(target, await put_all(second, target))
        assert await _read(parts_env, target) == second

    async def test_empty_upload_is_one_empty_part(self, parts_env: PartsEnv) -> None:
        target = await _begin(parts_env, 0)
        receipt = await _write(parts_env.parts, target, 0, b"", parts_env.part_size)
        await parts_env.parts.assemble(target, [StoredPart(0, 0, receipt)])
        assert await _read(parts_env, target) == b""
        assert target.id in " ".join(await parts_env.leftovers(target))

    async def test_abandon_leaves_nothing(self, parts_env: PartsEnv) -> None:
        p = parts_env.part_size
        target = await _begin(parts_env, 2 * p)
        await _write(parts_env.parts, target, 1, os.urandom(p), p)
        assert await parts_env.leftovers(target)
        await parts_env.parts.abandon_parts(target)
        await parts_env.parts.abandon_parts(target)  # again: no harm
        assert await parts_env.leftovers(target) == []
