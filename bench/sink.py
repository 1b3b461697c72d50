"""A bare ASGI sink: the baseline with no protocol logic.

It reads and drops every request body and answers the way a tus server would, without
checking anything: POST 201 with a Location, PATCH 204 with Upload-Offset (the client's
offset plus the bytes received), HEAD 200, OPTIONS 204; a GET answers `?size=N` bytes
from one buffer in memory (the stream store's download, without a disk). Raw ASGI, no
framework, so it measures what uvicorn + uvloop + httptools cost on their own. Started by
bench/targets.py as ``uvicorn bench.sink:app --loop uvloop --http httptools --workers 1``.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ids = itertools.count(1)
_TUS = (b"tus-resumable", b"1.0.0")
_OPTIONS_HEADERS = [
    _TUS,
    (b"tus-version", b"1.0.0"),
    (b"tus-extension", b"creation,creation-with-upload"),  # checksums are not verified
]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_BLOCK = bytes(1 << 20)


async def _send_bytes(scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    size = 0
    for part in bytes(scope.get("query_string", b"")).split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"size" and value.isdigit():
            size = int(value)
    headers = [*headers, (b"content-length", b"%d" % size)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if size == 0:
        await send({"type": "http.response.body", "body": b""})
    view = memoryview(_BLOCK)
    while size > 0:
        n = min(size, len(_BLOCK))
        size -= n
        await send({"type": "http.response.body", "body": view[:n], "more_body": size > 0})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    received = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        received += len(message.get("body", b""))
        more = bool(message.get("more_body", False))

    method = scope["method"]
    headers: list[tuple[bytes, bytes]] = [_TUS]
    if method == "POST":
        status = 201
        location = b"%s%d" % (scope["path"].rstrip("/").encode() + b"/", next(_ids))
        headers += [(b"location", location), (b"upload-offset", b"%d" % received)]
    elif method == "PATCH":
        status = 204
        offset = int(_header(scope, b"upload-offset") or b"0") + received
        headers.append((b"upload-offset", b"%d" % offset))
    elif method == "HEAD":
        status = 200
        headers += [(b"upload-offset", b"0"), (b"cache-control", b"no-store")]
    elif method == "OPTIONS":
        status = 204
        headers += _OPTIONS_HEADERS
    elif method == "GET":
        await _send_bytes(scope, send, headers)
        return
    else:
        status = 405
    if status not in (204,) and method != "HEAD":
        headers.append((b"content-length", b"0"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
