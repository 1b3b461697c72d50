"""A raw HTTP/1.1 client on h11 that shows interim (1xx) responses, which httpx and most
clients hide: the draft's 104s are what these tests read."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import h11


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    interim: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _headers(items: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in items}


class Raw:
    """One connection; `start`, `send`, `end`, then `interim()` / `answer()`."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.conn = h11.Connection(h11.CLIENT)
        self.interims: list[tuple[int, dict[str, str]]] = []

    def start(self, method: str, target: str, headers: dict[str, str], length: int | None) -> None:
        items = [("Host", f"127.0.0.1:{self.port}"), *headers.items()]
        if length is None:
            if method not in ("HEAD", "GET", "DELETE", "OPTIONS"):
                items.append(("Transfer-Encoding", "chunked"))
        else:
            items.append(("Content-Length", str(length)))
        self.sock.sendall(self.conn.send(h11.Request(method=method, target=target, headers=items)))

    def send(self, data: bytes) -> None:
        if data:
            self.sock.sendall(self.conn.send(h11.Data(data=data)))

    def end(self) -> None:
        self.sock.sendall(self.conn.send(h11.EndOfMessage()))

    def _event(self) -> object:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                self.conn.receive_data(data)
                if not data and self.conn.their_state is not h11.DONE:
                    raise ConnectionError("server closed the connection")
                continue
            return event

    def interim(self) -> tuple[int, dict[str, str]]:
        """Wait for the next interim response."""
        event = self._event()
        if not isinstance(event, h11.InformationalResponse):
            raise AssertionError(f"expected an interim response, got {event!r}")
        found = (event.status_code, _headers(event.headers))
        self.interims.append(found)
        return found

    def answer(self) -> Answer:
        """Every interim response, then the final one with its body."""
        while True:
            event = self._event()
            if isinstance(event, h11.InformationalResponse):
                self.interims.append((event.status_code, _headers(event.headers)))
                continue
            assert isinstance(event, h11.Response), event
            response = Answer(event.status_code, _headers(event.headers), interim=self.interims)
            break
        chunks = []
        while True:
            event = self._event()
            if isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
        response.body = b"".join(chunks)
        self.interims = []
        return response

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def close(self) -> None:
        """Close the connection mid-request (the server sees the body end early). Not a
        reset: a reset lets the kernel drop bytes the server had not read yet."""
        self.sock.close()


def request(
    port: int,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> Answer:
    """One whole exchange on a new connection."""
    raw = Raw(port)
    try:
        data = body or b""
        raw.start(
            method,
            target,
            headers or {},
            None
            if chunked or (body is None and method in ("HEAD", "GET", "DELETE", "OPTIONS"))
            else len(data),
        )
        try:
            if method != "HEAD" or data:
                raw.send(data)
            raw.end()
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered before the body was read, and the connection closed
        return raw.answer()
    finally:
        raw.sock.close()
