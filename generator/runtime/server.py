"""Server side of a generated transport: dispatch per path, and the ASGI messages of
empty, JSON and error responses (headers precomputed by the generated module)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import ServiceError
from .responses import JsonResponses


def route_paths(prefix: str, path: str) -> list[str]:
    """Where a method path is mounted; the root answers with and without a trailing slash."""
    if path == "/":
        return [prefix + "/", prefix] if prefix else ["/"]
    return [prefix + path]


Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
"""A generated endpoint: a plain ASGI callable (no Request, no Response object)."""


class Dispatch:
    """The ASGI app of one path: picks the handler for the request's method, or for the
    one its override header (e.g. `X-HTTP-Method-Override`) names; else 405.

    An instance (not a function), so Starlette's `Route` calls it as a raw ASGI app.
    """

    __slots__ = ("_allow", "_override", "_responses", "_table")

    def __init__(
        self,
        table: Mapping[str, Handler],
        override: bytes = b"",
        responses: JsonResponses | None = None,
    ) -> None:
        self._table = dict(table)
        self._override = override
        self._allow = ", ".join(sorted(table)).encode("latin-1")
        self._responses = responses
        """When given, 405 answers carry a body in the service's error format."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        table = self._table
        method: str = scope["method"]
        override = self._override
        if override:
            for key, value in scope["headers"]:
                if key == override:
                    wanted = value.decode("latin-1").strip().upper()
                    if wanted in table:
                        method = wanted
                    break
        handler = table.get(method)
        if handler is None:
            if self._responses is not None:
                await self._responses.send_routing_error(send, scope, 405, sorted(table))
            else:
                await send_empty(send, 405, [(b"allow", self._allow)])
            return
        await handler(scope, receive, send)


def is_json(scope: Scope) -> bool:
    """The request's `Content-Type` is `application/json` or a `+json` type."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return False


def is_head(scope: Scope) -> bool:
    """True for a HEAD request: its responses keep their headers but send no body bytes."""
    method: str = scope["method"]
    return method == "HEAD"


async def send_empty(
    send: Send, status: int, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A response without a body (Content-Length: 0 where a body would be allowed)."""
    h = [] if headers is None else headers
    if not (status < 200 or status in (204, 304)):
        h.append((b"content-length", b"0"))
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": b""})


async def send_body(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool
) -> None:
    """`body` with its Content-Length (sent as headers only when `head`)."""
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


_JSON = (b"content-type", b"application/json")


async def send_json(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: Any, head: bool
) -> None:
    """A JSON result body (a pydantic model, by alias; `null` for None)."""
    content = body.model_dump_json(by_alias=True) if hasattr(body, "model_dump_json") else "null"
    data = content.encode()
    headers.append((b"content-length", str(len(data)).encode("latin-1")))
    headers.append(_JSON)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else data})


async def send_error(
    send: Send, exc: ServiceError, const: Iterable[tuple[bytes, bytes]], head: bool
) -> None:
    """The declared error: its status, headers, constant headers and JSON body."""
    items = exc.header_items()
    if items:
        own = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items]
        names = {k for k, _ in own}
        headers = [h for h in const if h[0] not in names] + own
    else:
        headers = list(const)
    data = json.dumps(exc.to_json(), separators=(",", ":")).encode()
    headers.append((b"content-length", str(len(data)).encode("latin-1")))
    headers.append(_JSON)
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else data})


_INTERNAL = b'{"code":"internal","message":"internal server error"}'


async def send_internal_error(send: Send, const: Iterable[tuple[bytes, bytes]], head: bool) -> None:
    """500 for an exception the service did not declare (logged by the caller)."""
    headers = [*const, (b"content-length", str(len(_INTERNAL)).encode("latin-1")), _JSON]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else _INTERNAL})


JSON_BODY_LIMIT = 1024 * 1024
"""Largest JSON request body read (bytes): a bigger one is refused with 413 as soon as it
passes the limit, so no client can make the server buffer an unbounded body."""


class JsonBodyTooLarge(ServiceError):
    """413 for a JSON request body over `JSON_BODY_LIMIT`."""

    status = 413
    code = "request_too_large"


async def read_body(receive: Receive, limit: int = JSON_BODY_LIMIT) -> bytes:
    """The whole request body (only for JSON bodies, which the design keeps small);
    JsonBodyTooLarge once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise JsonBodyTooLarge(f"a JSON request body may hold at most {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def json_response(
    status: int, headers: Mapping[str, str], body: Any, media_type: str = "application/json"
) -> Response:
    """A JSON result as a Starlette response (methods that also stream results)."""
    content = body.model_dump_json(by_alias=True) if hasattr(body, "model_dump_json") else "null"
    return Response(content, status_code=status, headers=headers, media_type=media_type)


async def empty_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


class IncompleteService(TypeError):
    """A handwritten service lacks methods its design declares."""


def check_service(service: object, name: str, methods: Sequence[str]) -> None:
    """Refuse, in one line naming them, a service missing any declared method."""
    missing = [m for m in methods if not callable(getattr(service, m, None))]
    if missing:
        raise IncompleteService(
            f"{type(service).__name__} does not implement the {name} service's "
            f"method{'s' if len(missing) > 1 else ''} {', '.join(missing)} (see the design)"
        )
