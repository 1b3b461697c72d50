"""The generated client covers the stream store: create (bytes, files, async streams),
streamed read, list, follow with a long-poll, delete, and the declared errors."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.servers import UploadServer, running_server
from tusgen.runtime import aclose
from tuskit.gen.http.streams.client import StreamsClient
from tuskit.gen.streams import errors
from tuskit.gen.streams.service import (
    CreatePayload,
    DeletePayload,
    EnqueuePayload,
    FirstPayload,
    GetPayload,
    HeadPayload,
    ListPayload,
    NextPayload,
    PrevPayload,
    PutPayload,
    QueuesPayload,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    with running_server(tmp_path_factory.mktemp("client") / "data", "--max-size", "1MiB") as s:
        yield s


@pytest.fixture
async def client(server: UploadServer) -> AsyncIterator[StreamsClient]:
    async with StreamsClient(f"http://127.0.0.1:{server.port}/v1") as c:
        yield c


async def test_create_read_delete(client: StreamsClient) -> None:
    created = await client.create(CreatePayload(content_type="text/plain"), b"hello client")
    assert created.body.status == "created"
    assert created.location == f"/v1/streams/{created.body.id}"
    got = await client.get(GetPayload(id=created.body.id))
    assert got.status == 200 and got.content_type == "text/plain"
    assert got.content_length == 12 and got.body is not None
    assert b"".join([chunk async for chunk in got.body]) == b"hello client"
    head = await client.head(HeadPayload(id=created.body.id))
    assert head.content_length == 12 and head.etag == got.etag
    deleted = await client.delete(DeletePayload(id=created.body.id))
    assert (deleted.body.id, deleted.body.status) == (created.body.id, "deleted")
    with pytest.raises(errors.NotFound):
        await client.get(GetPayload(id=created.body.id))


async def test_streamed_bodies_both_ways(client: StreamsClient, tmp_path: Path) -> None:
    data = os.urandom(900_000)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    created = await client.put(PutPayload(), chunks())
    got = await client.get(GetPayload(id=created.body.id, range="bytes=10-"))
    assert got.status == 206 and got.content_range == f"bytes 10-{len(data) - 1}/{len(data)}"
    assert got.body is not None
    first = await got.body.__anext__()
    await aclose(got.body)  # stop early: the connection is given back
    assert first == data[10 : 10 + len(first)]
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    with path.open("rb") as f:
        from_file = await client.create(CreatePayload(), f)
    whole = await client.get(GetPayload(id=from_file.body.id))
    assert whole.body is not None
    assert b"".join([c async for c in whole.body]) == data


async def test_list_and_follow(client: StreamsClient) -> None:
    queue = f"client-{os.getpid()}"
    ids = [
        (await client.enqueue(EnqueuePayload(queue=queue), f"m{i}".encode())).body.id
        for i in range(3)
    ]
    page = await client.list(ListPayload(queue=queue, limit=2))
    assert page.body is not None and [s.id for s in page.body.streams] == ids[:2]
    assert page.body.next is not None
    rest = await client.list(ListPayload(queue=queue, cursor=page.body.next))
    assert rest.body is not None and [s.id for s in rest.body.streams] == ids[2:]
    same = await client.list(ListPayload(queue=queue, limit=2, if_none_match=page.etag))
    assert same.status == 304
    first = await client.first(FirstPayload(queue=queue))
    assert first.body.id == ids[0] and first.body.content_type == "application/octet-stream"
    assert (await client.prev(PrevPayload(queue=queue, id=ids[1]))).body.id == ids[0]

    async def produce_later() -> str:
        await asyncio.sleep(0.5)
        return (await client.enqueue(EnqueuePayload(queue=queue), b"late")).body.id

    producer = asyncio.ensure_future(produce_later())
    followed = await client.next(NextPayload(queue=queue, id=ids[2], wait=10))
    assert followed.body.id == await producer
    with pytest.raises(errors.NotFound):
        await client.next(NextPayload(queue=queue, id=followed.body.id, wait=0.2))
    listed = await client.queues(QueuesPayload())
    assert listed.body is not None
    assert {q.queue: q.streams for q in listed.body.queues}[queue] == 4


async def test_declared_errors(client: StreamsClient) -> None:
    with pytest.raises(errors.TooLarge):
        await client.create(CreatePayload(), b"x" * (1024 * 1024 + 1))
    with pytest.raises(errors.BadRequest) as bad:
        await client.list(ListPayload(queue="q", cursor="nonsense"))
    assert bad.value.code == "bad_request"
    with pytest.raises(errors.PreconditionFailed):
        created = await client.create(CreatePayload(), b"x")
        await client.get(GetPayload(id=created.body.id, if_match='"other"'))
