"""Interrupted and stalled PATCHes: what arrived is kept, and a new request takes over."""

from __future__ import annotations

import http.client
import os
import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

KIB = 1024
MIB = 1024 * KIB


def open_patch(server: UploadServer, url: str, offset: int, length: int) -> socket.socket:
    """Start a PATCH announcing `length` body bytes; the caller sends (some of) them."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(
        (
            f"PATCH {urlsplit(url).path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            "Tus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
    )
    return sock


def read_status(sock: socket.socket, timeout: float) -> int | None:
    """The status of the response on `sock`, or None if none came in time."""
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        response.close()


def head_offset(http: httpx.Client, url: str) -> int:
    r = http.head(url, headers=TUS)
    assert r.status_code == 200, r.status_code
    return int(r.headers["Upload-Offset"])


def wait_offset(http: httpx.Client, url: str, expected: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    seen = head_offset(http, url)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = head_offset(http, url)
    return seen


def test_connection_closed_mid_body_keeps_what_arrived(
    http: httpx.Client, server: UploadServer
) -> None:
    data = os.urandom(MIB)
    url = create(http, len(data))
    sent = 300 * KIB
    with open_patch(server, url, 0, len(data)) as sock:
        sock.sendall(data[:sent])
        time.sleep(0.2)
    assert wait_offset(http, url, sent) == sent
    assert http.get(url).content == data[:sent]
    r = patch(http, url, sent, data[sent:])
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    assert http.get(url).content == data


def test_closed_before_any_body_keeps_nothing(http: httpx.Client, server: UploadServer) -> None:
    url = create(http, 100)
    with open_patch(server, url, 0, 100):
        time.sleep(0.1)
    time.sleep(0.3)
    assert head_offset(http, url) == 0
    assert patch(http, url, 0, b"x" * 100).status_code == 204


def test_stalled_patch_lets_go_for_head_then_patch(
    http: httpx.Client, server: UploadServer
) -> None:
    """A client resuming after a stall (HEAD, then PATCH at that offset) must succeed."""
    data = os.urandom(MIB)
    url = create(http, len(data))
    sent = 200 * KIB
    with open_patch(server, url, 0, len(data)) as stalled:
        stalled.sendall(data[:sent])
        time.sleep(0.3)  # the stalled PATCH holds the lock, waiting for more body
        started = time.monotonic()
        at = head_offset(http, url)
        assert at in (0, sent), at
        r = patch(http, url, at, data[at:])
        elapsed = time.monotonic() - started
        assert r.status_code == 204, (r.status_code, r.text, dict(r.headers), at)
        assert elapsed < 4.0, elapsed
        assert r.headers["Upload-Offset"] == str(len(data))
        status = read_status(stalled, 3.0)
        assert status != 204, status
    assert http.get(url).content == data


def test_stalled_patch_is_asked_to_let_go(http: httpx.Client, server: UploadServer) -> None:
    """A competing PATCH gets an answer well before the lock timeout (not 423), the
    stalled request's bytes are kept, and the upload completes."""
    data = os.urandom(MIB)
    url = create(http, len(data))
    sent = 200 * KIB
    with open_patch(server, url, 0, len(data)) as stalled:
        stalled.sendall(data[:sent])
        time.sleep(0.3)
        started = time.monotonic()
        r = patch(http, url, sent, data[sent:])
        elapsed = time.monotonic() - started
        assert r.status_code == 204, (r.status_code, r.text)
        assert elapsed < 4.0, elapsed
        # the stalled request was told to stop: 503 (retry) rather than silence
        assert read_status(stalled, 3.0) == 503
    assert head_offset(http, url) == len(data)
    assert http.get(url).content == data
