"""Answering with a prepared asset: gzip when the client takes it, 304 when its copy is
current, the security headers on every answer (including errors and redirects)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Scope, Send

from .assets import Asset
from .security import HEADERS

Headers = list[tuple[bytes, bytes]]


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    return ",".join(values)


def accepts_gzip(accept_encoding: str) -> bool:
    """`gzip` listed without `q=0` (RFC 9110 12.5.3); `*` alone is not trusted."""
    for item in accept_encoding.split(","):
        token, _, params = item.strip().partition(";")
        if token.strip().lower() != "gzip":
            continue
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def not_modified(if_none_match: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/` is ignored, `*` matches anything."""
    for item in if_none_match.split(","):
        tag = item.strip().removeprefix("W/")
        if tag == "*" or tag == etag:
            return True
    return False


async def send_asset(scope: Scope, send: Send, asset: Asset) -> None:
    zipped = asset.gzipped is not None and accepts_gzip(_header(scope, b"accept-encoding"))
    etag = asset.gzip_etag if zipped else asset.etag
    headers: Headers = [
        (b"etag", etag.encode()),
        (b"cache-control", asset.cache_control.encode()),
        *HEADERS,
    ]
    if asset.gzipped is not None:
        headers.append((b"vary", b"Accept-Encoding"))
    if not_modified(_header(scope, b"if-none-match"), etag):
        await _send(send, 304, headers, b"", head=True)
        return
    body = asset.gzipped if zipped and asset.gzipped is not None else asset.body
    headers.append((b"content-type", asset.content_type.encode()))
    if zipped:
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    await _send(send, 200, headers, body, head=scope.get("method") == "HEAD")


async def send_redirect(scope: Scope, send: Send, location: str) -> None:
    """308 to a relative `location`, keeping the query (right behind any path prefix)."""
    query = scope.get("query_string", b"")
    target = location.encode() + (b"?" + query if query else b"")
    headers: Headers = [(b"location", target), (b"content-length", b"0"), *HEADERS]
    await _send(send, 308, headers, b"", head=True)


async def send_routing_error(scope: Scope, send: Send, status: int, allow: Sequence[str]) -> None:
    """404/405 in the JSON shape the other mounts use (`{"code", "message"}`)."""
    if status == 405:
        code, message = "method_not_allowed", "the upload page answers GET and HEAD"
    else:
        code, message = "not_found", "no such file"
    body = json.dumps({"code": code, "message": message}).encode()
    headers: Headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *HEADERS,
    ]
    if status == 405:
        headers.append((b"allow", ", ".join(allow or ("GET", "HEAD")).encode()))
    await _send(send, status, headers, body, head=scope.get("method") == "HEAD")


async def _send(send: Send, status: int, headers: Headers, body: bytes, *, head: bool) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
