"""Our uvicorn protocol, driven directly (a fake transport stands in for the socket; the
real-socket behaviour is proven by every protocol test, which runs on this protocol):
one `http.request` per parsed body chunk, reading paused past the high-water mark and
resumed as the app reads, and the trailers in the scope."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.server import ServerState

from tuskit.upload.httpproto import (
    INFORMATIONAL_KEY,
    TRAILERS_KEY,
    ChunkQueueCycle,
    UploadHttpProtocol,
    interim_head,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.pauses = 0
        self.resumes = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def pause_reading(self) -> None:
        self.pauses += 1

    def resume_reading(self) -> None:
        self.resumes += 1

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class RecordingApp:
    """Reads the body one message at a time when told to, then answers 204."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.scope: dict[str, Any] = {}
        self.read_one = asyncio.Semaphore(0)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        while True:
            await self.read_one.acquire()
            message = await receive()
            self.messages.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def connect(app: RecordingApp) -> tuple[UploadHttpProtocol, FakeTransport]:
    config = Config(app=app, lifespan="off", log_level="warning")
    config.load()
    protocol = UploadHttpProtocol(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_each_parsed_chunk_is_one_message_and_reading_pauses_until_the_app_reads() -> None:
    app = RecordingApp()
    protocol, transport = connect(app)
    chunk = 40_000
    pieces = [bytes([65 + i]) * chunk for i in range(5)]
    head = f"PATCH /files/x HTTP/1.1\r\nHost: h\r\nContent-Length: {chunk * 5}\r\n\r\n"
    protocol.data_received(head.encode())
    for piece in pieces:
        protocol.data_received(piece)
    await settle()
    assert isinstance(protocol.cycle, ChunkQueueCycle)
    assert transport.pauses == 1  # past HIGH_WATER_LIMIT buffered: stop reading the socket
    assert protocol.cycle.buffered == chunk * 5 > HIGH_WATER_LIMIT
    for _ in pieces:
        app.read_one.release()
        await settle()
    assert [m["body"] for m in app.messages] == pieces  # as parsed, never joined
    assert [m["more_body"] for m in app.messages] == [True] * 4 + [False]
    assert transport.resumes >= 1  # reading again once the app took what was queued
    assert protocol.cycle.buffered == 0
    assert transport.written.startswith(b"HTTP/1.1 204")


async def test_request_trailers_reach_the_scope() -> None:
    app = RecordingApp()
    protocol, transport = connect(app)
    protocol.data_received(
        b"PATCH /files/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: Upload-Checksum\r\n\r\n"
        b"3\r\nabc\r\n0\r\nUpload-Checksum: sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\r\n\r\n"
    )
    for _ in range(3):
        app.read_one.release()
        await settle()
    assert b"".join(m["body"] for m in app.messages) == b"abc"
    assert app.scope["extensions"][TRAILERS_KEY] == [
        (b"upload-checksum", b"sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
    ]
    # the header named in Trailer is a header; the trailer field is not added to headers
    assert (b"upload-checksum", b"sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=") not in app.scope["headers"]
    assert transport.written.startswith(b"HTTP/1.1 204")


class InterimApp:
    """Sends the given interim responses, reads the body, answers 204, then tries once more."""

    def __init__(self, interims: list[dict[str, Any]], read_first: bool = False) -> None:
        self.interims = interims
        self.read_first = read_first
        self.after_start: Exception | None = None
        self.scope: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        if self.read_first:
            await receive()
        for message in self.interims:
            await send(message)
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        try:
            await send({"type": INFORMATIONAL_KEY, "status": 104, "headers": []})
        except RuntimeError as exc:
            self.after_start = exc
        await send({"type": "http.response.body", "body": b""})


def interim(status: int, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": INFORMATIONAL_KEY, "status": status, "headers": list(headers)}


async def test_interim_responses_precede_the_final_one_and_none_may_follow_it() -> None:
    app = InterimApp(
        [
            interim(104, (b"Location", b"/uploads/abc"), (b"upload-limit", b"max-age=60")),
            interim(104, (b"upload-offset", b"5")),
        ]
    )
    protocol, transport = connect(app)
    protocol.data_received(b"POST /uploads HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
    await settle()
    assert INFORMATIONAL_KEY in app.scope["extensions"]
    text = bytes(transport.written)
    assert text.startswith(
        b"HTTP/1.1 104 Upload Resumption Supported\r\nlocation: /uploads/abc\r\n"
        b"upload-limit: max-age=60\r\n\r\n"
        b"HTTP/1.1 104 Upload Resumption Supported\r\nupload-offset: 5\r\n\r\n"
        b"HTTP/1.1 204 "
    ), text
    assert isinstance(app.after_start, RuntimeError)  # refused once the final one started
    assert text.count(b"HTTP/1.1 104") == 2


async def test_expect_100_continue_still_gets_its_100_after_a_104() -> None:
    app = InterimApp([interim(104, (b"location", b"/uploads/x"))])
    protocol, transport = connect(app)
    protocol.data_received(
        b"POST /uploads HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    await settle()
    text = bytes(transport.written)
    assert text == (
        b"HTTP/1.1 104 Upload Resumption Supported\r\nlocation: /uploads/x\r\n\r\n"
        b"HTTP/1.1 100 Continue\r\n\r\n"
    ), text
    protocol.data_received(b"abc")
    await settle()
    assert bytes(transport.written).count(b"HTTP/1.1 204 ") == 1


async def test_a_100_is_sent_only_when_expected_and_only_once() -> None:
    app = InterimApp([interim(100), interim(100)])
    protocol, transport = connect(app)
    protocol.data_received(
        b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx"
    )
    await settle()
    assert bytes(transport.written).count(b"HTTP/1.1 100 Continue") == 1
    app2 = InterimApp([interim(100)])
    protocol2, transport2 = connect(app2)
    protocol2.data_received(b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
    await settle()
    assert b"100 Continue" not in bytes(transport2.written)


async def test_http10_clients_get_no_interim_responses() -> None:
    app = InterimApp([interim(104, (b"location", b"/uploads/x"))])
    protocol, transport = connect(app)
    protocol.data_received(b"POST /u HTTP/1.0\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
    await settle()
    assert bytes(transport.written).startswith(b"HTTP/1.1 204 ")


@pytest.mark.parametrize("status", [99, 101, 200, "104"])
def test_only_informational_statuses_are_interim(status: Any) -> None:
    with pytest.raises(RuntimeError):
        interim_head(status, [])


def test_interim_headers_are_checked() -> None:
    with pytest.raises(RuntimeError):
        interim_head(104, [(b"bad name", b"x")])
    with pytest.raises(RuntimeError):
        interim_head(104, [(b"location", b"a\r\nb")])
    early = interim_head(103, [(b"Link", b"</a>")])
    assert early == b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"


async def test_chunks_that_arrived_before_a_disconnect_are_still_handed_over() -> None:
    app = RecordingApp()
    protocol, _transport = connect(app)
    protocol.data_received(b"PATCH /files/x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabcd")
    protocol.connection_lost(None)  # the client went away before the app read anything
    for _ in range(2):
        app.read_one.release()
        await settle()
    assert [m["type"] for m in app.messages] == ["http.request", "http.disconnect"]
    assert app.messages[0]["body"] == b"abcd"
