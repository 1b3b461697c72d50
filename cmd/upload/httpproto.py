"""Our HTTP/1.1 protocol for uvicorn: request trailers for ASGI, and bodies without copies.

- Trailers: ASGI has no request-trailer event. uvicorn's httptools parser reports trailer
  fields through the same header callback after the headers are complete; this protocol
  keeps them apart and puts them in `scope["extensions"]["http.request.trailers"]` before
  the body's last message, where `tusgen.runtime.BodyStream` reads them.
- Bodies: stock uvicorn appends every body chunk to a bytearray and copies it out again
  in `receive`, two copies of every uploaded byte on the event loop. Here each chunk the
  parser made is handed to the application as it is, one `http.request` message per
  chunk, with the same flow control (reading pauses past `HIGH_WATER_LIMIT` buffered).
  Chunks that arrived before the client went away are still handed over, then the
  disconnect (stock uvicorn drops them): an interrupted upload keeps every byte it got.
  Measured on 2 GiB of 64 MiB PATCHes: see docs/benchmark/report.md.
- Interim responses: ASGI has no 1xx message, so this protocol offers the extension
  `http.response.informational` (advertised in `scope["extensions"]`): the app sends
  `{"type": "http.response.informational", "status": 1xx, "headers": [...]}` any number of
  times before `http.response.start`, e.g. the resumable-upload draft's `104 Upload
  Resumption Supported` with the upload's `Location`. Sending one after the final response
  started is an error; HTTP/1.0 clients never get one (RFC 9110, 15.2); `Expect:
  100-continue` still gets its own 100 when the app first reads the body.
"""

from __future__ import annotations

from collections import deque
from typing import Any, cast

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

TRAILERS_KEY = "http.request.trailers"
INFORMATIONAL_KEY = "http.response.informational"

REASONS = {100: b"Continue", 102: b"Processing", 103: b"Early Hints"}
REASONS[104] = b"Upload Resumption Supported"  # draft-ietf-httpbis-resumable-upload


def interim_head(status: int, headers: Any) -> bytes:
    """The bytes of one interim response; raises RuntimeError for anything but a 1xx (not
    101: switching protocols is not an interim response) or an invalid header."""
    if type(status) is not int or not 100 <= status <= 199 or status == 101:
        raise RuntimeError(f"{status!r} is not an informational status")
    content = [b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b""))]
    for name, value in headers:
        if HEADER_RE.search(name):
            raise RuntimeError("Invalid HTTP header name.")
        if HEADER_VALUE_RE.search(value):
            raise RuntimeError("Invalid HTTP header value.")
        content.extend([bytes(name).lower(), b": ", bytes(value), b"\r\n"])
    content.append(b"\r\n")
    return b"".join(content)


class ChunkQueueCycle(RequestResponseCycle):
    """A request cycle whose body is a queue of the parser's chunks (no bytearray)."""

    chunks: deque[bytes]
    buffered: int

    def adopt(self) -> None:
        self.chunks = deque()
        self.buffered = 0

    async def send(self, message: Any) -> None:
        if message["type"] != INFORMATIONAL_KEY:
            await super().send(message)
            return
        if self.response_started:
            raise RuntimeError("an interim response cannot follow the final response's start")
        head = interim_head(message.get("status"), message.get("headers", ()))
        if self.disconnected or self.transport.is_closing():
            return
        if self.scope.get("http_version") == "1.0":
            return  # an HTTP/1.0 client does not understand interim responses
        if message["status"] == 100:
            if not self.waiting_for_100_continue:
                return  # only an `Expect: 100-continue` request gets a 100, and only once
            self.waiting_for_100_continue = False
        if self.flow.write_paused:
            await self.flow.drain()
        self.transport.write(head)

    async def receive(self) -> Any:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            if not self.chunks:
                await self.message_event.wait()
                self.message_event.clear()
        if self.response_complete or (self.disconnected and not self.chunks):
            return {"type": "http.disconnect"}  # after what arrived before the disconnect
        if not self.chunks:
            return {"type": "http.request", "body": b"", "more_body": self.more_body}
        body = self.chunks.popleft()
        self.buffered -= len(body)
        more = self.more_body or bool(self.chunks)
        return {"type": "http.request", "body": body, "more_body": more}


class UploadHttpProtocol(HttpToolsProtocol):
    _headers_done = False

    def on_message_begin(self) -> None:
        self._headers_done = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        self._headers_done = True
        cycle = self.cycle
        if cycle is not before and type(cycle) is RequestResponseCycle and not cycle.body:
            cycle.__class__ = ChunkQueueCycle  # same state, our receive; see the docstring
            cast(ChunkQueueCycle, cycle).adopt()
            extensions: dict[str, Any] = cycle.scope.setdefault("extensions", {})
            extensions[INFORMATIONAL_KEY] = {}

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if not isinstance(cycle, ChunkQueueCycle):
            super().on_body(body)
            return
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        cycle.chunks.append(body)
        cycle.buffered += len(body)
        if cycle.buffered > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._headers_done:
            super().on_header(name, value)
            return
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        trailers: list[tuple[bytes, bytes]] = extensions.setdefault(TRAILERS_KEY, [])
        trailers.append((name.lower(), value))
