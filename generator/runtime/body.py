"""Streamed request bodies: chunks as they arrive and typed trailers at the end."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, cast

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send
from typing_extensions import TypeVar

INFORMATIONAL_EXTENSION = "http.response.informational"
"""Present in `scope["extensions"]` when the ASGI server can send interim (1xx) responses:
the app then sends `{"type": "http.response.informational", "status": 1xx, "headers":
[(b"name", b"value"), ...]}` before `http.response.start`."""

TRAILERS_EXTENSION = "http.request.trailers"
"""`scope["extensions"][TRAILERS_EXTENSION]`: the request trailers as `(name, value)` byte
pairs, put there by the ASGI server before the body's last message (our uvicorn protocol)."""


class Trailers(Mapping[str, Any]):
    """Base of the generated `<Method>Trailers` dataclasses.

    Each declared trailer is a typed attribute, None until the body ended (or when the
    client did not send it). The object is also a read-only mapping of the trailers that
    arrived, by field name, so `trailers.get("upload_checksum")` and `dict(trailers)` work.
    """

    def _present(self) -> dict[str, Any]:
        if not dataclasses.is_dataclass(self):
            return {}
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        }

    def __getitem__(self, key: str) -> Any:
        return self._present()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._present())

    def __len__(self) -> int:
        return len(self._present())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._present()!r})"


NO_TRAILERS = Trailers()
"""The trailers of a body whose method declares none."""

T = TypeVar("T", bound=Trailers, default=Trailers, covariant=True)


class BodyStream(AsyncIterator[bytes], Generic[T]):
    """The request body as an async iterator of chunks, never buffered whole.

    Built from the ASGI `(scope, receive)` (a Starlette `Request` works too). When the
    body ends, the trailers the ASGI server recorded in
    `scope["extensions"]["http.request.trailers"]` are decoded like headers into the
    method's typed trailers object (`body.trailers.upload_checksum`). An invalid declared
    trailer raises the design's 400 error from the iteration. A client that goes away
    raises `starlette.requests.ClientDisconnect`.
    """

    __slots__ = ("_decode", "_receive", "_scope", "_send", "_state", "_trailers", "received")

    def __init__(
        self,
        scope: Scope | Request,
        receive: Receive | None = None,
        decode_trailers: Callable[[dict[str, str]], T] | None = None,
        trailers: T | None = None,
        send: Send | None = None,
    ) -> None:
        if isinstance(scope, Request):
            receive = receive or scope.receive
            scope = scope.scope
        if receive is None:
            raise TypeError("BodyStream needs the ASGI receive callable")
        self._scope: Scope = scope
        self._receive: Receive = receive
        self._decode = decode_trailers
        self._send = send
        self._state = 0  # 0 reading, 1 body ended (trailers pending), 2 done
        self._trailers: T = trailers if trailers is not None else cast(T, NO_TRAILERS)
        self.received = 0
        """Bytes handed out so far."""

    @property
    def trailers(self) -> T:
        """The declared trailers: every attribute None until the body ended."""
        return self._trailers

    def __aiter__(self) -> BodyStream[T]:
        return self

    async def __anext__(self) -> bytes:
        while self._state == 0:
            message: Message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                if not message.get("more_body", False):
                    self._state = 1
                chunk: bytes = message.get("body", b"")
                if chunk:
                    self.received += len(chunk)
                    return chunk
            elif kind == "http.disconnect":
                raise ClientDisconnect()
        if self._state == 1:
            self._state = 2
            self._finish()
        raise StopAsyncIteration

    async def inform(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> bool:
        """Send an interim (1xx) response before the final one, e.g. the resumable-upload
        draft's `104 Upload Resumption Supported` with `Location`, `Upload-Limit`,
        `Upload-Offset`. Returns whether it was sent: only when the ASGI server offers the
        `http.response.informational` extension (else nothing happens)."""
        if not 100 <= status <= 199 or status == 101:
            raise ValueError(f"{status} is not an informational status")
        extensions = self._scope.get("extensions") or {}
        if self._send is None or INFORMATIONAL_EXTENSION not in extensions:
            return False
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await self._send({"type": INFORMATIONAL_EXTENSION, "status": status, "headers": raw})
        return True

    @property
    def done(self) -> bool:
        """True once the whole body (and its trailers) arrived."""
        return self._state == 2

    def _finish(self) -> None:
        if self._decode is None:
            return
        raw = self._scope.get("extensions", {}).get(TRAILERS_EXTENSION) or ()
        trailers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in raw}
        self._trailers = self._decode(trailers)
