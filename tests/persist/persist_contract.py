"""The storage contract every store must pass; reused by each implementation's test file.

A store's test module subclasses a class here and provides one fixture:
`metadata_store` (MetadataStore), `byte_store` (ByteStore) or `locker` (Locker). Optional
capabilities (ContentReader, Terminator, Concatenator) are tested when the store has
them and skipped otherwise, so a Redis, PostgreSQL or S3 store reuses this unchanged.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator

import pytest

from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import (
    ByteStore,
    Checkpointing,
    ChunkWriter,
    Concatenator,
    ContentReader,
    Locker,
    LockTimeout,
    MetadataStore,
    Release,
    StoreError,
    Terminator,
    UploadExists,
    UploadNotFound,
)

pytestmark = pytest.mark.anyio

_ids = itertools.count()


def new_id(prefix: str = "up") -> str:
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


def record(**changes: object) -> UploadInfo:
    base = UploadInfo(id=new_id(), length=100, created_at=1000.0, updated_at=1000.0)
    return base.replace(**changes)


async def read_all(store: ByteStore, info: UploadInfo, start: int = 0, end: int = -1) -> bytes:
    if not isinstance(store, ContentReader):
        pytest.skip("store has no ContentReader")
    stop = info.offset if end < 0 else end
    return b"".join([c async for c in store.read(info, start, stop)])


class MetadataStoreContract:
    """Tests for any MetadataStore; the subclass provides the `metadata_store` fixture."""

    async def test_create_then_get_returns_equal_record(
        self, metadata_store: MetadataStore
    ) -> None:
        info = record(
            metadata=(("filename", "YS50eHQ="), ("empty", "")),
            expires_at=2000.0,
            storage=(("key", "v"),),
            is_partial=True,
        )
        await metadata_store.create(info)
        assert await metadata_store.get(info.id) == info

    async def test_get_unknown_is_none(self, metadata_store: MetadataStore) -> None:
        assert await metadata_store.get("never-created") is None

    async def test_create_twice_raises_upload_exists(self, metadata_store: MetadataStore) -> None:
        info = record()
        await metadata_store.create(info)
        with pytest.raises(UploadExists):
            await metadata_store.create(info.replace(length=5))
        got = await metadata_store.get(info.id)
        assert got is not None and got.length == 100

    async def test_metadata_order_and_deferred_length_kept(
        self, metadata_store: MetadataStore
    ) -> None:
        info = record(length=None, metadata=(("z", "MQ=="), ("a", ""), ("m", "Mg==")))
        await metadata_store.create(info)
        got = await metadata_store.get(info.id)
        assert got is not None
        assert got.deferred and got.length is None
        assert [k for k, _ in got.metadata] == ["z", "a", "m"]

    async def test_save_replaces_record(self, metadata_store: MetadataStore) -> None:
        info = record()
        await metadata_store.create(info)
        await metadata_store.save(info.replace(offset=42, updated_at=1001.0, length=200))
        got = await metadata_store.get(info.id)
        assert got is not None
        assert (got.offset, got.updated_at, got.length) == (42, 1001.0, 200)

    async def test_save_unknown_raises_not_found(self, metadata_store: MetadataStore) -> None:
        with pytest.raises(UploadNotFound):
            await metadata_store.save(record())

    async def test_returned_records_are_not_shared_state(
        self, metadata_store: MetadataStore
    ) -> None:
        info = record(metadata=(("k", "dg=="),))
        await metadata_store.create(info)
        got = await metadata_store.get(info.id)
        assert got is not None
        assert isinstance(got.metadata, tuple) and isinstance(got.storage, tuple)
        with pytest.raises(AttributeError):
            got.offset = 5  # type: ignore[misc]
        again = await metadata_store.get(info.id)
        assert again is not None and again.offset == 0

    async def test_mark_makes_tombstone_kept_by_get(self, metadata_store: MetadataStore) -> None:
        info = record(offset=10)
        await metadata_store.create(info)
        await metadata_store.mark(info.id, UploadState.TERMINATED, 1500.0)
        got = await metadata_store.get(info.id)
        assert got is not None
        assert got.state is UploadState.TERMINATED
        assert got.updated_at == 1500.0 and got.offset == 10

    async def test_mark_unknown_raises_not_found(self, metadata_store: MetadataStore) -> None:
        with pytest.raises(UploadNotFound):
            await metadata_store.mark("nope", UploadState.EXPIRED, 1.0)

    async def test_expired_only_active_unfinished_and_past(
        self, metadata_store: MetadataStore
    ) -> None:
        past = record(expires_at=50.0)
        past_deferred = record(length=None, expires_at=60.0)
        future = record(expires_at=500.0)
        never = record(expires_at=None)
        done = record(offset=100, expires_at=50.0)
        dead = record(expires_at=40.0)
        for r in (past, past_deferred, future, never, done, dead):
            await metadata_store.create(r)
        await metadata_store.mark(dead.id, UploadState.TERMINATED, 70.0)
        got = await metadata_store.expired(100.0, 10)
        assert sorted(i.id for i in got) == sorted([past.id, past_deferred.id])
        assert len(await metadata_store.expired(100.0, 1)) == 1
        assert await metadata_store.expired(10.0, 10) == []

    async def test_finals_waiting_on(self, metadata_store: MetadataStore) -> None:
        p1, p2, other = record(is_partial=True), record(is_partial=True), record(is_partial=True)
        for r in (p1, p2, other):
            await metadata_store.create(r)
        waiting = record(length=None, partials=(p1.id, p2.id))
        complete = record(length=10, offset=10, partials=(p1.id,))
        gone = record(length=None, partials=(p1.id,))
        for r in (waiting, complete, gone):
            await metadata_store.create(r)
        await metadata_store.mark(gone.id, UploadState.TERMINATED, 1.0)
        assert [i.id for i in await metadata_store.finals_waiting_on(p1.id)] == [waiting.id]
        assert [i.id for i in await metadata_store.finals_waiting_on(p2.id)] == [waiting.id]
        assert await metadata_store.finals_waiting_on(other.id) == []
        got = await metadata_store.finals_waiting_on(p2.id)
        assert got[0].partials == (p1.id, p2.id) and got[0].is_final
        await metadata_store.save(waiting.replace(length=20, offset=20))
        assert await metadata_store.finals_waiting_on(p1.id) == []

    async def test_all_active_streams_only_active(self, metadata_store: MetadataStore) -> None:
        infos = [record() for _ in range(5)]
        for r in infos:
            await metadata_store.create(r)
        await metadata_store.mark(infos[0].id, UploadState.EXPIRED, 1.0)
        seen = {i.id async for i in metadata_store.all_active()}
        assert {i.id for i in infos[1:]} <= seen
        assert infos[0].id not in seen

    async def test_purge_tombstones_forgets_only_old_tombstones(
        self, metadata_store: MetadataStore
    ) -> None:
        old, young, active = record(), record(), record(updated_at=1.0)
        final = record(length=None, partials=(active.id,))
        for r in (old, young, active, final):
            await metadata_store.create(r)
        await metadata_store.mark(old.id, UploadState.TERMINATED, 100.0)
        await metadata_store.mark(final.id, UploadState.EXPIRED, 100.0)
        await metadata_store.mark(young.id, UploadState.EXPIRED, 300.0)
        assert await metadata_store.purge_tombstones(200.0) == 2
        assert await metadata_store.get(old.id) is None
        assert await metadata_store.get(final.id) is None
        assert (await metadata_store.get(young.id)) is not None
        assert (await metadata_store.get(active.id)) is not None
        assert await metadata_store.purge_tombstones(200.0) == 0
        # A purged id can be reused.
        await metadata_store.create(old)


class ByteStoreContract:
    """Tests for any ByteStore; the subclass provides the `byte_store` fixture.

    Stores buffer writes, so tests that need bytes to reach storage before a "crash"
    write more than `big` bytes (the subclass may lower it through a small buffer).
    """

    big = 300_000
    window = 300_000
    """Bytes a checkpoint surely covers once twice as many were written (S3: a part)."""

    async def new(self, store: ByteStore, **changes: object) -> UploadInfo:
        info = record(**changes)
        storage = await store.create(info)
        return info.replace(storage=storage)

    async def lose(self, writer: ChunkWriter) -> None:
        """Drop `writer` as a crash would, without commit or discard. A store whose writes
        finish in background threads waits for them first (a dead process writes no more)."""

    async def append(self, store: ByteStore, info: UploadInfo, *chunks: bytes) -> UploadInfo:
        writer = await store.open_writer(info)
        for c in chunks:
            await writer.write(c)
        assert writer.written == sum(map(len, chunks))
        return info.replace(offset=await writer.commit())

    async def test_write_commit_read(self, byte_store: ByteStore) -> None:
        data = os.urandom(self.big)
        info = await self.new(byte_store, length=len(data) + 3)
        info = await self.append(byte_store, info, data[:10], data[10:1000], data[1000:])
        assert info.offset == len(data)
        info = await self.append(byte_store, info, b"xyz")
        assert info.offset == len(data) + 3
        assert await byte_store.durable_size(info) == len(data) + 3
        assert await read_all(byte_store, info) == data + b"xyz"
        assert await read_all(byte_store, info, 5, 17) == (data + b"xyz")[5:17]

    async def test_a_checkpoint_survives_a_crash_and_resumes(self, byte_store: ByteStore) -> None:
        """Checkpointing: what a checkpoint says is durable is kept by a crash (the
        writer dropped), and a writer opened at that offset continues the upload."""
        w = self.window
        data = os.urandom(3 * w + 7)
        info = await self.new(byte_store, length=len(data))
        writer = await byte_store.open_writer(info)
        assert isinstance(writer, Checkpointing)
        await writer.write(data[: 2 * w + 3])
        end = await writer.checkpoint()
        assert w <= end <= 2 * w + 3, end
        await writer.write(data[2 * w + 3 : 2 * w + 100])
        await self.lose(writer)  # crash: the record says `end`
        info = info.replace(offset=end)
        assert await byte_store.durable_size(info) >= end
        info = await self.append(byte_store, info, data[end:])
        assert info.offset == len(data)
        assert await read_all(byte_store, info) == data

    async def test_empty_commit_keeps_offset(self, byte_store: ByteStore) -> None:
        info = await self.new(byte_store)
        info = await self.append(byte_store, info, b"abc")
        writer = await byte_store.open_writer(info)
        assert await writer.commit() == 3
        assert await byte_store.durable_size(info) == 3

    async def test_discard_restores_offset_and_bytes(self, byte_store: ByteStore) -> None:
        info = await self.new(byte_store, length=None)
        info = await self.append(byte_store, info, b"hello ")
        writer = await byte_store.open_writer(info)
        await writer.write(b"garbage" * 1000)
        await writer.write(os.urandom(self.big))
        await writer.discard()
        assert await byte_store.durable_size(info) == 6
        info = await self.append(byte_store, info, b"world")
        assert await read_all(byte_store, info) == b"hello world"

    async def test_writer_ends_once(self, byte_store: ByteStore) -> None:
        info = await self.new(byte_store)
        writer = await byte_store.open_writer(info)
        await writer.write(b"a")
        assert await writer.commit() == 1
        with pytest.raises(StoreError):
            await writer.write(b"b")
        with pytest.raises(StoreError):
            await writer.commit()
        with pytest.raises(StoreError):
            await writer.discard()

    async def test_interrupted_stream_commit_keeps_what_arrived(
        self, byte_store: ByteStore
    ) -> None:
        data = os.urandom(self.big + 12345)

        async def body() -> AsyncIterator[bytes]:
            for i in range(0, self.big, 4096):
                yield data[i : min(i + 4096, self.big)]
            raise ConnectionResetError("client went away")

        info = await self.new(byte_store, length=len(data))
        writer = await byte_store.open_writer(info)
        with pytest.raises(ConnectionResetError):
            async for chunk in body():
                await writer.write(chunk)
        offset = await writer.commit()
        assert offset == writer.written == self.big
        info = info.replace(offset=offset)
        assert await byte_store.durable_size(info) == self.big
        assert await read_all(byte_store, info) == data[: self.big]
        info = await self.append(byte_store, info, data[self.big :])
        assert await read_all(byte_store, info) == data

    async def test_crash_leftovers_are_cut_when_a_writer_opens(self, byte_store: ByteStore) -> None:
        info = await self.new(byte_store)
        info = await self.append(byte_store, info, b"kept")
        crashed = await byte_store.open_writer(info)
        await crashed.write(os.urandom(self.big))  # flushed, never committed
        await self.lose(crashed)
        del crashed
        info = await self.append(byte_store, info, b"+more")
        assert info.offset == 9
        assert await byte_store.durable_size(info) == 9
        assert await read_all(byte_store, info) == b"kept+more"

    async def test_durable_size_of_new_upload_is_zero(self, byte_store: ByteStore) -> None:
        info = await self.new(byte_store)
        assert await byte_store.durable_size(info) == 0

    async def test_create_refuses_an_id_that_holds_bytes(self, byte_store: ByteStore) -> None:
        """Ids are unique by construction (128 random bits, and the metadata store refuses
        a taken one); a byte store must still never silently overwrite stored bytes."""
        info = await self.append(byte_store, await self.new(byte_store), b"stored")
        with pytest.raises(UploadExists):
            await byte_store.create(info.replace(offset=0))
        assert await read_all(byte_store, info) == b"stored"

    @pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/b", "a\x00b", "", ".", "..", "é"])
    async def test_unsafe_ids_are_rejected(self, byte_store: ByteStore, bad: str) -> None:
        info = UploadInfo(id=bad, length=1)
        with pytest.raises(ValueError):
            await byte_store.create(info)
        with pytest.raises(ValueError):
            await byte_store.open_writer(info)
        with pytest.raises(ValueError):
            await byte_store.durable_size(info)

    async def test_concatenate(self, byte_store: ByteStore) -> None:
        if not isinstance(byte_store, Concatenator):
            pytest.skip("store has no Concatenator")
        a, b, c = os.urandom(self.big), b"", b"tail"
        parts = []
        for data in (a, b, c):
            p = await self.new(byte_store, length=len(data), is_partial=True)
            parts.append(await self.append(byte_store, p, data))
        final = await self.new(byte_store, length=None, partials=tuple(p.id for p in parts))
        await byte_store.concatenate(final, parts)
        final = final.replace(length=len(a + b + c), offset=len(a + b + c))
        assert await byte_store.durable_size(final) == len(a + b + c)
        assert await read_all(byte_store, final) == a + b + c
        # Retrying (e.g. after a crash) gives the same bytes.
        await byte_store.concatenate(final, parts)
        assert await read_all(byte_store, final) == a + b + c

    async def test_concatenate_refuses_unfinished_partials(self, byte_store: ByteStore) -> None:
        if not isinstance(byte_store, Concatenator):
            pytest.skip("store has no Concatenator")
        p = await self.new(byte_store, length=10, is_partial=True)
        p = await self.append(byte_store, p, b"12345")
        final = await self.new(byte_store, length=None, partials=(p.id,))
        with pytest.raises(StoreError):
            await byte_store.concatenate(final, [p])

    async def test_delete(self, byte_store: ByteStore) -> None:
        if not isinstance(byte_store, Terminator):
            pytest.skip("store has no Terminator")
        info = await self.new(byte_store)
        info = await self.append(byte_store, info, b"bytes")
        await byte_store.delete(info)
        assert await byte_store.durable_size(info) == 0
        await byte_store.delete(info)  # deleting twice is fine


class LockerContract:
    """Tests for any Locker; the subclass provides the `locker` fixture."""

    async def test_lock_is_exclusive_and_released(self, locker: Locker) -> None:
        uid = new_id("lock")
        held = await locker.acquire(uid, timeout=1, on_release_request=lambda _: None)
        with pytest.raises(LockTimeout):
            await locker.acquire(uid, timeout=0.2, on_release_request=lambda _: None)
        await held.release()
        again = await locker.acquire(uid, timeout=1, on_release_request=lambda _: None)
        await again.release()
        await again.release()  # idempotent

    async def test_a_held_lock_knows_it_is_held(self, locker: Locker) -> None:
        """The fence the service checks before recording an offset."""
        held = await locker.acquire(new_id("lock"), timeout=1, on_release_request=lambda _: None)
        assert held.still_held()
        await held.release()
        assert not held.still_held()

    async def test_different_ids_do_not_block(self, locker: Locker) -> None:
        a = await locker.acquire(new_id("lock"), timeout=1, on_release_request=lambda _: None)
        b = await locker.acquire(new_id("lock"), timeout=0.1, on_release_request=lambda _: None)
        await a.release()
        await b.release()

    async def test_release_request_reaches_holder_who_lets_go(self, locker: Locker) -> None:
        uid = new_id("lock")
        asked = asyncio.Event()
        held = await locker.acquire(uid, timeout=1, on_release_request=lambda _: asked.set())

        async def holder() -> None:  # a PATCH that stops when asked, saves, lets go
            await asked.wait()
            await held.release()

        task = asyncio.create_task(holder())
        start = time.monotonic()
        second = await locker.acquire(uid, timeout=3, on_release_request=lambda _: None)
        assert asked.is_set()
        assert time.monotonic() - start < 2
        await second.release()
        await task

    @pytest.mark.parametrize("kind", list(Release))
    async def test_the_release_kind_reaches_the_holder_unchanged(
        self, locker: Locker, kind: Release
    ) -> None:
        """Every locker carries why the waiter asks (stop, supersede, if-stalled): the
        holder decides what to honour, so the rule is the same on every locker."""
        uid = new_id("lock")
        heard: list[Release] = []
        got = asyncio.Event()

        def on_release(k: Release) -> None:
            heard.append(k)
            got.set()

        held = await locker.acquire(uid, timeout=1, on_release_request=on_release)

        async def holder() -> None:
            await got.wait()
            await held.release()

        task = asyncio.create_task(holder())
        second = await locker.acquire(uid, timeout=3, on_release_request=lambda _: None, ask=kind)
        await second.release()
        await task
        assert heard and set(heard) == {kind}

    async def test_background_waiter_never_asks_the_holder(self, locker: Locker) -> None:
        """Recovery and expiry wait for a running PATCH; they must not interrupt it."""
        uid = new_id("lock")
        asked: list[int] = []
        held = await locker.acquire(uid, timeout=1, on_release_request=lambda _: asked.append(1))
        with pytest.raises(LockTimeout):
            await locker.acquire(uid, timeout=0.4, on_release_request=lambda _: None, ask=None)
        await asyncio.sleep(0.2)  # a release request in flight would have arrived by now
        assert asked == []
        await held.release()
        again = await locker.acquire(uid, timeout=1, on_release_request=lambda _: None, ask=None)
        await again.release()

    async def test_timeout_when_holder_ignores_request(self, locker: Locker) -> None:
        uid = new_id("lock")
        calls: list[int] = []
        held = await locker.acquire(uid, timeout=1, on_release_request=lambda _: calls.append(1))
        start = time.monotonic()
        with pytest.raises(LockTimeout):
            await locker.acquire(uid, timeout=0.3, on_release_request=lambda _: None)
        waited = time.monotonic() - start
        assert 0.25 <= waited < 2
        assert calls, "the holder was never asked to release"
        await held.release()

    async def test_waiters_are_served_one_at_a_time(self, locker: Locker) -> None:
        uid = new_id("lock")
        inside = 0
        peak = 0

        async def worker() -> None:
            nonlocal inside, peak
            held = await locker.acquire(uid, timeout=5, on_release_request=lambda _: None)
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1
            await held.release()

        await asyncio.gather(*(worker() for _ in range(5)))
        assert peak == 1
