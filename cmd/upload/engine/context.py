"""Which request the engine is serving, without passing it through every call.

The outer ASGI app sets `current_request` once per request (it knows which mounted
protocol got it); the engine attaches it to events and decisions, so hooks see the
protocol and the HTTP request whatever adapter called. Background work (expiry) runs
with none.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any


class RequestContext:
    """One HTTP request as events report it; fields are decoded only when read."""

    __slots__ = ("_scope", "protocol")

    def __init__(self, protocol: str, scope: Mapping[str, Any]) -> None:
        self.protocol = protocol
        self._scope = scope

    @property
    def method(self) -> str:
        return str(self._scope.get("method", ""))

    @property
    def root_path(self) -> str:
        """The prefix the app is mounted under (a host app's Mount, `--root-path`)."""
        return str(self._scope.get("root_path", ""))

    @property
    def uri(self) -> str:
        path = str(
            self._scope.get("raw_path", b"").decode("latin-1") or self._scope.get("path", "")
        )
        query = bytes(self._scope.get("query_string", b"")).decode("latin-1")
        return f"{path}?{query}" if query else path

    @property
    def remote_addr(self) -> str:
        client = self._scope.get("client")
        return f"{client[0]}:{client[1]}" if client else ""

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [
            (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
            for k, v in self._scope.get("headers", ())
        ]

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        key = name.lower().encode("latin-1")
        for k, v in self._scope.get("headers", ()):
            if bytes(k) == key:
                return bytes(v).decode("latin-1")
        return None


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)
