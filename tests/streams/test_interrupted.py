"""An interrupted write creates no stream: no id, no listing entry, and no bytes left on
disk or in the bucket once the request has ended (client gone, body shorter than its
Content-Length, a chunked body cut off, the server shutting down)."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid

import httpx

from tests.servers import UploadServer

from .conftest import api
from .setups import Setup
from .test_streams import read_reply

MiB = 1024 * 1024


def settle(store_setup: Setup, before: set[str], timeout: float = 15.0) -> set[str]:
    """What the setup stores beyond `before`, once the server had time to clean up."""
    deadline = time.monotonic() + timeout
    extra = store_setup.stored() - before
    while extra and time.monotonic() < deadline:
        time.sleep(0.2)
        extra = store_setup.stored() - before
    return extra


def cut_off(server: UploadServer, path: str, head: str, body: bytes, half_close: bool) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        sock.sendall(body)
        time.sleep(0.5)  # the server is streaming it by now
        if half_close:
            sock.shutdown(socket.SHUT_WR)  # the client says: no more bytes
            sock.settimeout(10)
            reply = read_reply(sock)
            assert reply.startswith(b"HTTP/1.1 400") or reply == b"\r\n\r\n", reply[:200]


def test_a_client_that_goes_away_leaves_nothing(server: UploadServer, store_setup: Setup) -> None:
    before = store_setup.stored()
    body = os.urandom(12 * MiB)
    cut_off(server, "/v1/streams", f"Content-Length: {20 * MiB}\r\n", body, half_close=False)
    assert settle(store_setup, before) == set()


def test_a_body_shorter_than_its_content_length_leaves_nothing(
    server: UploadServer, store_setup: Setup
) -> None:
    before = store_setup.stored()
    cut_off(server, "/v1/streams", "Content-Length: 100000\r\n", b"x" * 50000, half_close=True)
    assert settle(store_setup, before) == set()


def test_a_cut_chunked_body_leaves_nothing_and_no_queue_entry(
    server: UploadServer, store_setup: Setup
) -> None:
    queue = f"cut-{uuid.uuid4().hex[:8]}"
    before = store_setup.stored()
    block = os.urandom(MiB)
    chunks = b"".join(b"%x\r\n" % len(block) + block + b"\r\n" for _ in range(7))
    path = f"/v1/queues/{queue}/streams"
    cut_off(server, path, "Transfer-Encoding: chunked\r\n", chunks, half_close=False)
    assert settle(store_setup, before) == set()
    listing = httpx.get(f"{api(server)}/queues/{queue}/streams").json()
    assert listing["streams"] == []
    assert queue not in {q["queue"] for q in httpx.get(f"{api(server)}/queues").json()["queues"]}


def test_a_shutdown_mid_body_answers_503_and_leaves_nothing(store_setup: Setup) -> None:
    """A second instance on the same stores, stopped with SIGTERM while a body streams."""
    other = UploadServer(store_setup.data_dir, [*store_setup.args, "--shutdown-timeout", "5s"])
    other.start()
    try:
        before = store_setup.stored()
        with socket.create_connection(("127.0.0.1", other.port), timeout=15) as sock:
            head = f"POST /v1/streams HTTP/1.1\r\nHost: x\r\nContent-Length: {40 * MiB}\r\n\r\n"
            sock.sendall(head.encode())
            sock.sendall(os.urandom(8 * MiB))
            time.sleep(0.5)
            assert other.proc is not None
            other.proc.send_signal(signal.SIGTERM)
            reply = read_reply(sock)
        assert reply.startswith(b"HTTP/1.1 503"), reply[:300]
        assert b'"code":"unavailable"' in reply and b"retry-after: 1" in reply.lower()
        assert other.proc.wait(timeout=20) == 0
        assert settle(store_setup, before) == set()
    finally:
        other.stop()
