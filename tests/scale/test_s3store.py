"""S3ByteStore passes the byte-store contract on SeaweedFS, plus S3-specific behaviour:
tail markers and resume on another instance, part-size policy, discard after uploaded
parts, concatenation by UploadPartCopy and by streaming, clean termination."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.persist.persist_contract import ByteStoreContract, read_all, record
from tuskit.persist.protocols import StoreError
from tuskit.persist.s3store import (
    MAX_PARTS,
    MIN_PART,
    S3ByteStore,
    S3Config,
    choose_part_size,
    open_s3,
)

from .seaweed import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, Seaweed

pytestmark = [pytest.mark.anyio, pytest.mark.services]

MiB = 1024 * 1024
P = MIN_PART  # tests use the smallest part size, so parts really upload


def config(weed: Seaweed, prefix: str, **changes: Any) -> S3Config:
    base = S3Config(
        bucket=BUCKET, endpoint_url=weed.endpoint, region=REGION, prefix=prefix,
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, path_style=True, part_size=P,
    )  # fmt: skip
    return S3Config(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


def leftovers(weed: Seaweed, prefix: str) -> tuple[list[str], list[str]]:
    """(object keys, multipart upload keys) under `prefix`."""
    c = weed.client()
    objects = [
        o["Key"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    ]
    uploads = c.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
    return objects, [u["Key"] for u in uploads]


def wipe(weed: Seaweed, prefix: str) -> None:
    c = weed.client()
    for u in c.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []):
        c.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            c.delete_object(Bucket=BUCKET, Key=o["Key"])


@pytest.fixture
def s3_prefix(seaweed: Seaweed) -> Any:
    prefix = f"t-{uuid.uuid4().hex[:12]}/"
    yield prefix
    wipe(seaweed, prefix)


@pytest.fixture
async def byte_store(seaweed: Seaweed, s3_prefix: str) -> AsyncIterator[S3ByteStore]:
    store = await open_s3(config(seaweed, s3_prefix))
    yield store
    await store.close()


class TestS3ByteStore(ByteStoreContract):
    window = P  # a checkpoint names whole parts


class TestPartSizePolicy:
    def test_minimum_and_preferred(self) -> None:
        assert choose_part_size(None, 1) == MIN_PART
        assert choose_part_size(0) == 8 * MiB
        assert choose_part_size(100 * MiB, 16 * MiB) == 16 * MiB

    @pytest.mark.parametrize(
        "total", [MAX_PARTS * MIN_PART, MAX_PARTS * MIN_PART + 1, 5 * 1024**4, 10**13]
    )
    def test_length_fits_in_10000_parts(self, total: int) -> None:
        size = choose_part_size(total, MIN_PART)
        assert size >= MIN_PART
        assert -(-total // size) <= MAX_PARTS
        if total == MAX_PARTS * MIN_PART:
            assert size == MIN_PART  # exactly 10,000 parts of 5 MiB
        else:
            assert size % MiB == 0

    def test_too_large_is_refused(self) -> None:
        with pytest.raises(StoreError):
            choose_part_size(MAX_PARTS * 5 * 1024**3 + 1)


async def _append(store: S3ByteStore, info: Any, *chunks: bytes) -> Any:
    writer = await store.open_writer(info)
    for c in chunks:
        await writer.write(c)
    return info.replace(offset=await writer.commit())


async def _new(store: S3ByteStore, **changes: Any) -> Any:
    info = record(**changes)
    return info.replace(storage=await store.create(info))


class TestS3Specifics:
    async def test_tail_marker_and_resume_on_another_instance(
        self, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        data = os.urandom(2 * P + 300_000)
        a = await open_s3(config(seaweed, s3_prefix))
        b = await open_s3(config(seaweed, s3_prefix))  # another instance, same storage
        try:
            info = await _new(a, length=len(data))
            key = a.key(info.id)
            cut = P + 1000
            info = await _append(a, info, data[:cut])
            objects, uploads = leftovers(seaweed, s3_prefix)
            # One part uploaded, 1000 bytes in the new marker; the old marker stays until
            # the next writer opens (the metadata save may not have happened yet).
            assert sorted(objects) == [f"{key}.tail.0", f"{key}.tail.1"]
            assert uploads == [key]
            assert await a.durable_size(info) == cut
            assert await read_all(a, info, P, cut) == data[P:cut]  # tail bytes are readable
            with pytest.raises(StoreError):
                await read_all(a, info, 0, 10)  # parts are not readable before completion

            info = await _append(b, info, data[cut:])
            assert info.offset == len(data)
            assert await b.durable_size(info) == len(data)
            assert await read_all(b, info) == data
            assert leftovers(seaweed, s3_prefix) == ([key], [])
        finally:
            await a.close()
            await b.close()

    async def test_discard_after_parts_were_uploaded(self, byte_store: S3ByteStore) -> None:
        keep, junk, good = os.urandom(1000), os.urandom(2 * P + 5), os.urandom(2 * P + 7)
        info = await _new(byte_store, length=len(keep + good))
        info = await _append(byte_store, info, keep)
        writer = await byte_store.open_writer(info)
        await writer.write(junk)  # two parts go up while "streaming"
        await writer.discard()
        assert await byte_store.durable_size(info) == 1000
        info = await _append(byte_store, info, good)  # same part numbers, new bytes
        assert await read_all(byte_store, info) == keep + good

    async def test_unrecorded_commit_is_cut_by_the_next_writer(
        self, byte_store: S3ByteStore
    ) -> None:
        data = os.urandom(P + 10)
        info = await _new(byte_store, length=3 * P)
        info = await _append(byte_store, info, data)
        crashed = await _append(byte_store, info, os.urandom(P))  # committed, never recorded
        assert await byte_store.durable_size(crashed) == 2 * P + 10
        rest = os.urandom(2 * P - 10)
        info = await _append(byte_store, info, rest)  # resumes from the recorded offset
        assert await read_all(byte_store, info) == data + rest

    async def test_concatenate_by_upload_part_copy(
        self, byte_store: S3ByteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def no_stream(*_: object) -> None:
            raise AssertionError("large partials must be copied server-side")

        monkeypatch.setattr(byte_store, "_concat_stream", no_stream)
        chunks = [os.urandom(P + 3), b"", os.urandom(P), os.urandom(17)]
        parts = []
        for c in chunks:
            p = await _new(byte_store, length=len(c), is_partial=True)
            parts.append(await _append(byte_store, p, c) if c else p)
        final = await _new(byte_store, length=None, partials=tuple(p.id for p in parts))
        await byte_store.concatenate(final, parts)
        total = b"".join(chunks)
        final = final.replace(length=len(total), offset=len(total))
        assert await byte_store.durable_size(final) == len(total)
        assert await read_all(byte_store, final) == total

    async def test_concatenate_small_partials_streams(
        self, byte_store: S3ByteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def no_copy(*_: object) -> None:
            raise AssertionError("a partial under 5 MiB cannot be a copied middle part")

        monkeypatch.setattr(byte_store, "_concat_copy", no_copy)
        chunks = [os.urandom(1000), os.urandom(P + 1), os.urandom(10)]
        parts = []
        for c in chunks:
            p = await _new(byte_store, length=len(c), is_partial=True)
            parts.append(await _append(byte_store, p, c))
        final = await _new(byte_store, length=None, partials=tuple(p.id for p in parts))
        await byte_store.concatenate(final, parts)
        total = b"".join(chunks)
        final = final.replace(length=len(total), offset=len(total))
        assert await read_all(byte_store, final) == total

    async def test_termination_leaves_nothing(
        self, byte_store: S3ByteStore, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        unfinished = await _new(byte_store, length=10 * P)
        unfinished = await _append(byte_store, unfinished, os.urandom(P + 123))
        done = await _new(byte_store, length=5)
        done = await _append(byte_store, done, b"12345")
        untouched = await _new(byte_store, length=None)
        objects, uploads = leftovers(seaweed, s3_prefix)
        assert objects and uploads
        for info in (unfinished, done, untouched):
            await byte_store.delete(info)
        assert leftovers(seaweed, s3_prefix) == ([], [])

    async def test_zero_length_upload_completes_to_an_empty_object(
        self, byte_store: S3ByteStore, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        info = await _new(byte_store, length=0)
        writer = await byte_store.open_writer(info)
        assert await writer.commit() == 0
        assert leftovers(seaweed, s3_prefix) == ([byte_store.key(info.id)], [])
        assert await byte_store.durable_size(info) == 0

    async def test_small_memory_budget_still_uploads(
        self, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        store = await open_s3(config(seaweed, s3_prefix, memory_budget=1, parts_in_flight=1))
        try:
            data = os.urandom(3 * P + 1)
            info = await _new(store, length=len(data))
            chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
            info = await _append(store, info, *chunks)
            assert await read_all(store, info) == data
            assert store.budget.used == 0
        finally:
            await store.close()

    async def test_parts_carry_content_md5_that_the_server_checks(
        self, byte_store: S3ByteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The payload is not SigV4-hashed (that ran on the event loop); integrity comes
        from Content-MD5, and a part whose bytes do not match it is refused."""
        from tuskit.persist import s3store

        data = os.urandom(2 * P + 5)
        info = await _new(byte_store, length=len(data))
        wrong = s3store.content_md5(b"something else")
        monkeypatch.setattr(s3store, "content_md5", lambda body: wrong)
        writer = await byte_store.open_writer(info)
        with pytest.raises(StoreError, match="Digest"):  # BadDigest / InvalidDigest
            for i in range(0, len(data), 65536):
                await writer.write(data[i : i + 65536])
            await writer.commit()
        monkeypatch.undo()
        with contextlib.suppress(StoreError):
            await writer.discard()
        info = await _append(byte_store, info, data)  # the right digests: accepted
        assert await read_all(byte_store, info) == data


class CuttingProxy:
    """A loopback TCP proxy to the S3 endpoint that drops a connection once it has passed
    `cut_after` bytes of answers, `times` times: a store connection breaking mid-read."""

    def __init__(self, endpoint: str, cut_after: int, times: int) -> None:
        target = urlsplit(endpoint)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.cut_after, self.times, self.cuts = cut_after, times, 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(*self.target)

        async def requests() -> None:
            while data := await client_r.read(65536):
                up_w.write(data)
                await up_w.drain()

        async def answers() -> None:
            passed = 0
            while data := await up_r.read(65536):
                if self.cuts < self.times and passed + len(data) > self.cut_after:
                    self.cuts += 1
                    client_w.write(data[: self.cut_after - passed])
                    await client_w.drain()
                    return
                passed += len(data)
                client_w.write(data)
                await client_w.drain()

        tasks = [asyncio.ensure_future(requests()), asyncio.ensure_future(answers())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        client_w.transport.abort()
        up_w.transport.abort()


class TestReadsSurviveABrokenStoreConnection:
    async def test_a_read_broken_mid_way_continues_from_where_it_broke(
        self, byte_store: S3ByteStore, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        data = os.urandom(2 * P + 12345)
        info = await _new(byte_store, length=len(data))
        info = await _append(byte_store, info, data)
        proxy = CuttingProxy(seaweed.endpoint, cut_after=3 * MiB, times=2)
        async with proxy as url:
            reader = await open_s3(config(seaweed, s3_prefix, endpoint_url=url))
            try:
                assert await read_all(reader, info) == data  # whole, not cut short
                assert await read_all(reader, info, P - 7, len(data) - 3) == data[P - 7 : -3]
            finally:
                await reader.close()
        assert proxy.cuts == 2  # both reads really broke once each

    async def test_a_read_that_keeps_breaking_fails_instead_of_ending_short(
        self, byte_store: S3ByteStore, seaweed: Seaweed, s3_prefix: str
    ) -> None:
        data = os.urandom(2 * P)
        info = await _new(byte_store, length=len(data))
        info = await _append(byte_store, info, data)
        proxy = CuttingProxy(seaweed.endpoint, cut_after=MiB, times=1000)
        async with proxy as url:
            reader = await open_s3(config(seaweed, s3_prefix, endpoint_url=url))
            try:
                with pytest.raises(StoreError, match="broke at byte"):
                    await read_all(reader, info)
            finally:
                await reader.close()
