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
- Limits (slowloris and memory): a connection that has not sent complete headers within
  `header_timeout` is closed (so is one that never sends a byte); headers larger than
  `max_header_size` in total are answered 431 as soon as they pass it, before the parser
  buffers more; a transfer coding other than `chunked` is 501, and Transfer-Encoding on
  HTTP/1.0 is 400 (a body must never be stored still encoded). Near the process's
  descriptor limit a warning is logged. A request answered before its body ended has the
  rest read and dropped, up to `LINGER_BYTES`, so clients that send before they read
  still see the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

import httptools
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from tusgen.runtime import INFORMATIONAL_EXTENSION as INFORMATIONAL_KEY
from tusgen.runtime import TRAILERS_EXTENSION as TRAILERS_KEY

log = logging.getLogger("tuskit.upload.http")

LINGER_BYTES = 8 * 1024 * 1024
"""Most body bytes read and dropped after an early answer before the connection closes."""


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 30.0
    """Seconds a connection may take to send complete request headers; 0: no limit."""
    max_header_size: int = 64 * 1024
    """Bytes of request line and headers together; 0: no limit."""


_limits = HttpLimits()


def configure(limits: HttpLimits) -> None:
    """Set the limits for connections this process accepts from now on (the app factory
    calls it; uvicorn builds the protocol class itself)."""
    global _limits
    _limits = limits


class Rejected(Exception):
    """A request refused before it reaches the app (answered and the connection closed)."""

    _REASONS = {400: "Bad Request", 431: "Request Header Fields Too Large", 501: "Not Implemented"}

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> bytes:
        body = json.dumps({"code": self.code, "message": self.message}).encode()
        head = (
            f"HTTP/1.1 {self.status} {self._REASONS[self.status]}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        return head.encode("latin-1") + body


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
    lingered: int

    def adopt(self) -> None:
        self.chunks = deque()
        self.buffered = 0
        self.lingered = 0

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
    _headers_done = True  # between requests: nothing being parsed
    _header_bytes = 0
    _header_timer: asyncio.TimerHandle | None = None

    # -- limits --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()  # a connection that never sends a byte is closed too
        _watch_descriptors(len(self.connections))

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        if _limits.header_timeout > 0:
            self._header_timer = self.loop.call_later(
                _limits.header_timeout, self._headers_too_slow
            )

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served (keep-alive handles the idle time after)
        if not self.transport.is_closing():
            log.info("closing %s: no complete request headers in time", _peer(self.client))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except Rejected as exc:
            self._reject(exc)
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, Rejected):  # raised in a parser callback
                self._reject(exc.__context__)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if not self._headers_done:
            # Still inside the headers: everything since the message began is header.
            self._header_bytes += len(data)
            limit = _limits.max_header_size
            if limit and self._header_bytes > limit:
                self._reject(_too_large(limit))

    def _reject(self, exc: Rejected) -> None:
        log.info("refused a request from %s: %d %s", _peer(self.client), exc.status, exc.message)
        self._stop_header_timer()
        if not self.transport.is_closing():
            self.transport.write(exc.response())
            self.transport.close()

    def on_message_begin(self) -> None:
        self._headers_done = False
        self._header_bytes = 0
        if self._header_timer is None:
            self._start_header_timer()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        super().on_url(url)

    def _check_request(self) -> None:
        """What the parser accepted but we must not: checked once the headers are in."""
        limit = _limits.max_header_size
        if limit and sum(len(k) + len(v) + 4 for k, v in self.headers) + len(self.url) > limit:
            raise _too_large(limit)
        codings = [v for k, v in self.headers if k == b"transfer-encoding"]
        if not codings:
            return
        if self.parser.get_http_version() == "1.0":
            raise Rejected(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0")
        names = [c.strip().lower() for v in codings for c in v.split(b",") if c.strip()]
        if names != [b"chunked"]:
            shown = ", ".join(n.decode("latin-1") for n in names)
            raise Rejected(
                501,
                "unsupported_transfer_coding",
                f"transfer coding {shown!r} is not supported; send the body with chunked"
                " only (or Content-Length)",
            )

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self._check_request()
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
        if self.parser.should_upgrade() and self._should_upgrade():
            return
        if cycle.response_complete:
            self._linger(cycle, len(body))
            return
        cycle.chunks.append(body)
        cycle.buffered += len(body)
        if cycle.buffered > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def _linger(self, cycle: ChunkQueueCycle, n: int) -> None:
        """Answered before the body ended (a refusal, a stopped or idle body): read and
        drop the rest, as most clients finish sending before they read the answer (closing
        at once would reset the connection under them, and they would never see it). Past
        `LINGER_BYTES` the connection is closed; an idle client is closed by the keep-alive
        timeout."""
        cycle.lingered += n
        if cycle.lingered > LINGER_BYTES and not self.transport.is_closing():
            self.transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._headers_done:
            super().on_header(name, value)
            return
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        trailers: list[tuple[bytes, bytes]] = extensions.setdefault(TRAILERS_KEY, [])
        trailers.append((name.lower(), value))


def _too_large(limit: int) -> Rejected:
    return Rejected(431, "headers_too_large", f"request headers pass {limit} bytes in total")


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


_last_warning = 0.0


def _watch_descriptors(connections: int) -> None:
    """Log (at most every 10 s) when open connections near the descriptor limit: past
    it, new connections fail with no response and nothing else is logged."""
    global _last_warning
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or connections < soft * 0.8:
        return
    now = time.monotonic()
    if now - _last_warning >= 10.0:
        _last_warning = now
        log.warning(
            "%d connections open, near the limit of %d file descriptors (ulimit -n);"
            " raise it or put a proxy with connection limits in front",
            connections,
            soft,
        )
