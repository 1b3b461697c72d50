"""JSON responses of one service: its media type, its error format, and compression of
bodies past a threshold by the request's `Accept-Encoding` (gzip or deflate, q-values
honoured). Streamed bodies never pass through here, so they are never compressed."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.types import Receive, Scope, Send

from .errors import ServiceError
from .formats import TUS, ErrorFormat

JSON = b"application/json"
CODINGS = ("gzip", "deflate")
THRESHOLD = 860
"""Bytes a JSON body must reach before it is compressed (Akamai's value, after rst)."""

_VARY = (b"vary", b"Accept-Encoding")


def accepted_coding(
    accept: bytes | None, offered: Sequence[str], size: int, threshold: int
) -> str | None:
    """The content coding to answer with, or None for identity.

    Each offered coding (in the server's order of preference on ties) is weighed by its
    q-value in `Accept-Encoding` (or that of `*`); q=0 refuses it. Identity is kept for
    bodies under `threshold` and when the client ranks it above every offered coding,
    unless the client refused it (`identity;q=0`, or `*;q=0` without naming identity).
    """
    if accept is None or not offered:
        return None
    weights: dict[str, float] = {}
    for part in accept.decode("latin-1").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name or name in weights:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        weights[name] = q if 0.0 <= q <= 1.0 else 0.0
    star = weights.get("*")
    best, best_q = None, 0.0
    for coding in offered:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    if best is None:
        return None
    identity_q = weights.get("identity", star if star is not None else 1.0)
    if identity_q > 0.0 and (size < threshold or weights.get("identity", 0.0) > best_q):
        return None
    return best


def compress(data: bytes, coding: str) -> bytes:
    """gzip (RFC 1952) or deflate (the zlib format, RFC 1950, as HTTP means it)."""
    if coding == "gzip":
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    else:
        packer = zlib.compressobj(6, zlib.DEFLATED, 15)
    return packer.compress(data) + packer.flush()


def _accept_encoding(scope: Scope) -> bytes | None:
    for key, value in scope["headers"]:
        if key == b"accept-encoding":
            return bytes(value)
    return None


class JsonResponses:
    """How one service answers JSON: media type, error format, compression.

    Generated server modules hold one as a module constant and send every JSON result
    and error through it.
    """

    __slots__ = ("_codings", "_error_type", "_internal", "_type", "error_format", "threshold")

    def __init__(
        self,
        media_type: bytes = JSON,
        error_format: ErrorFormat = TUS,
        compress: Sequence[str] = (),
        threshold: int = THRESHOLD,
    ) -> None:
        self._type = (b"content-type", media_type)
        self.error_format = error_format
        self._error_type = (b"content-type", error_format.content_type or media_type)
        self._codings = tuple(compress)
        self.threshold = threshold
        self._internal = _dumps(error_format.plain(500, "internal", "internal server error"))

    async def _send(
        self,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        data: bytes,
        content_type: tuple[bytes, bytes],
        scope: Scope,
    ) -> None:
        if self._codings:
            headers.append(_VARY)
            coding = accepted_coding(
                _accept_encoding(scope), self._codings, len(data), self.threshold
            )
            if coding is not None:
                data = compress(data, coding)
                headers.append((b"content-encoding", coding.encode("latin-1")))
        headers.append((b"content-length", str(len(data)).encode("latin-1")))
        headers.append(content_type)
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else data})

    async def send(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: Any, scope: Scope
    ) -> None:
        """A JSON result body (a pydantic model, by alias; `null` for None)."""
        content = (
            body.model_dump_json(by_alias=True) if hasattr(body, "model_dump_json") else "null"
        )
        await self._send(send, status, headers, content.encode(), self._type, scope)

    async def send_error(
        self, send: Send, exc: ServiceError, const: Iterable[tuple[bytes, bytes]], scope: Scope
    ) -> None:
        """A declared error: its status, headers over the constant ones, its JSON body."""
        items = exc.header_items()
        if items:
            own = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items]
            names = {k for k, _ in own}
            headers = [h for h in const if h[0] not in names] + own
        else:
            headers = list(const)
        data = _dumps(self.error_format.body(exc))
        await self._send(send, exc.status, headers, data, self._error_type, scope)

    async def send_internal_error(
        self, send: Send, const: Iterable[tuple[bytes, bytes]], scope: Scope
    ) -> None:
        """500 for an exception the service did not declare (logged by the caller)."""
        await self._send(send, 500, list(const), self._internal, self._error_type, scope)

    async def send_routing_error(
        self,
        send: Send,
        scope: Scope,
        status: int,
        allow: Sequence[str] = (),
        const: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        """404 (no such path) or 405 (with `Allow`) in the service's error format, with the
        service's constant headers."""
        headers: list[tuple[bytes, bytes]] = list(const)
        if status == 405:
            headers.append((b"allow", ", ".join(allow).encode("latin-1")))
            code, message = "method_not_allowed", f"method {scope['method']} not allowed"
        else:
            code, message = "not_found", f"no resource at {scope.get('path', '/')}"
        data = _dumps(self.error_format.plain(status, code, message))
        await self._send(send, status, headers, data, self._error_type, scope)

    def response(self, status: int, headers: Mapping[str, str], body: Any, scope: Scope) -> _Sent:
        """A JSON result as an ASGI app, for encoders that answer with responses."""
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return _Sent(self, status, raw, body)


class _Sent:
    """A JSON response sent when called as an ASGI app."""

    __slots__ = ("_body", "_headers", "_owner", "_status")

    def __init__(
        self, owner: JsonResponses, status: int, headers: list[tuple[bytes, bytes]], body: Any
    ) -> None:
        self._owner, self._status, self._headers, self._body = owner, status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._owner.send(send, self._status, self._headers, self._body, scope)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
