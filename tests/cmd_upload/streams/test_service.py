"""What black-box tests cannot provoke on demand: a failing queue store (500 in the
envelope, and the stream undone), a stream held by another request (423), and the
translation table, cursors, listing validators and served types one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Router

from tuskit.gen.http.streams.server import make_routes
from tuskit.gen.streams import errors
from tuskit.persist import FileByteStore, MemoryMetadataStore, ProcessLocker, UploadInfo
from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadState
from tuskit.persist.protocols import QueueEntry
from tuskit.persist.queues import MemoryQueueIndex
from tuskit.upload.engine import Engine, EngineOptions
from tuskit.upload.engine import errors as refusals
from tuskit.upload.streams import StreamsService, cursor
from tuskit.upload.streams.content import rfc3339, served_headers
from tuskit.upload.streams.translate import streams_error

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class BrokenQueues(MemoryQueueIndex):
    async def append(
        self, queue: str, upload_id: str, size: int, content_type: str, created: float
    ) -> QueueEntry:
        raise ConnectionError("the queue store is down")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    stores = StoreComposer(
        FileByteStore(tmp_path), MemoryMetadataStore(), ProcessLocker(), queues=BrokenQueues()
    )
    return Engine(stores, EngineOptions(lock_timeout=0.2))


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = Router(routes=make_routes(StreamsService(engine), base_path="/v1"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/v1") as c:
        yield c


async def test_a_failing_queue_store_is_500_and_leaves_no_stream(
    client: httpx.AsyncClient, engine: Engine, tmp_path: Path
) -> None:
    response = await client.post("/queues/q/streams", content=b"payload")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "status": "error",
        "error": {"code": "internal", "message": "internal server error"},
    }
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    metadata = engine.stores.metadata
    assert isinstance(metadata, MemoryMetadataStore)
    states = [i.state async for i in metadata.all_active()]
    assert states == []  # the recorded stream was terminated again


async def test_a_stream_held_by_another_request_is_423(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    created = await client.post("/streams", content=b"x")
    stream_id = created.json()["id"]
    held = await engine.stores.locker.acquire(
        stream_id, timeout=1.0, on_release_request=lambda _: None
    )
    try:
        response = await client.delete(f"/streams/{stream_id}")
    finally:
        await held.release()
    assert response.status_code == 423
    assert response.json()["error"]["code"] == "locked"
    assert (await client.delete(f"/streams/{stream_id}")).status_code == 200


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (refusals.NotFound("x"), 404, "not_found"),
        (refusals.Gone("x", UploadState.TERMINATED), 404, "not_found"),
        (refusals.Incomplete("x", 0), 404, "not_found"),
        (refusals.TooLarge("x"), 413, "too_large"),
        (refusals.Truncated("x"), 400, "incomplete_body"),
        (refusals.Locked("x"), 423, "locked"),
        (refusals.Unavailable("x"), 503, "unavailable"),
        (refusals.InvalidRequest("x"), 400, "bad_request"),
        (refusals.Rejected("no", status=403), 403, "rejected"),
    ],
)
def test_translation(exc: refusals.EngineError, status: int, code: str) -> None:
    got = streams_error(exc)
    assert (got.status, got.code) == (status, code)


def test_unavailable_says_when_to_retry() -> None:
    got = streams_error(refusals.Unavailable("x", retry_after=3))
    assert isinstance(got, errors.Unavailable) and got.header_items() == [("Retry-After", "3")]


def test_cursors_round_trip_and_belong_to_their_queue() -> None:
    token = cursor.encode("orders", 42)
    assert cursor.decode("orders", token) == 42
    for bad in ("", "x", token + "x", cursor.encode("other", 42), "MS5hLmI"):
        with pytest.raises(cursor.BadCursor):
            cursor.decode("orders", bad)


def test_listing_validators_compare_weakly() -> None:
    tag = cursor.weak_etag(b'{"queues":[]}')
    assert tag.startswith('W/"') and tag == cursor.weak_etag(b'{"queues":[]}')
    assert cursor.matches(tag, tag) and cursor.matches(tag.removeprefix("W/"), tag)
    assert cursor.matches(f'"a", {tag}', tag) and cursor.matches("*", tag)
    assert not cursor.matches('"other"', tag) and not cursor.matches(None, tag)


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("text/plain; charset=UTF-8", ("text/plain; charset=utf-8", None)),
        ("text/plain", ("text/plain", None)),
        ("IMAGE/PNG", ("image/png", None)),
        ("image/svg+xml", ("application/octet-stream", "attachment")),
        ("text/html; charset=utf-8", ("application/octet-stream", "attachment")),
        ("", ("application/octet-stream", "attachment")),
    ],
)
def test_served_types(declared: str, served: tuple[str, str | None]) -> None:
    info = UploadInfo(id="s", length=1, offset=1, metadata=(("filetype", declared),))
    assert served_headers(info) == served


def test_created_is_rfc3339_utc_with_milliseconds() -> None:
    assert rfc3339(1496406425.1234) == "2017-06-02T12:27:05.123Z"
