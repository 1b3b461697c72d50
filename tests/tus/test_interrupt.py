"""Interrupted and stalled PATCHes: what arrived is kept, and a new request takes over."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.servers import UploadServer, running_server
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


# -- issue 15, item 2: a healthy PATCH is never interrupted by HEAD or a competing PATCH --


def paced_body(data: bytes, rate: float, piece: int = 64 * KIB) -> Iterator[bytes]:
    """`data` at about `rate` bytes per second: a healthy, slow client."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
        time.sleep(piece / rate)


def send_paced(url: str, data: bytes, rate: float, result: dict[str, object]) -> None:
    headers = {
        **TUS,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(data)),
    }
    try:
        with httpx.Client(timeout=30.0) as client:
            r = client.patch(url, content=paced_body(data, rate), headers=headers)
            result["status"] = r.status_code
    except httpx.HTTPError as exc:
        result["status"] = repr(exc)


def test_head_hammer_never_interrupts_a_healthy_patch(
    http: httpx.Client, server: UploadServer
) -> None:
    """50 clients polling progress used to stop the PATCH at every HEAD (45-201 attempts
    for 50 MiB). Now the one PATCH finishes, and every HEAD answers an offset it holds."""
    data = os.urandom(4 * MIB)
    url = create(http, len(data))
    result: dict[str, object] = {}
    sender = threading.Thread(target=send_paced, args=(url, data, 4 * MIB, result))
    sender.start()
    seen: list[int] = []
    slowest = 0.0
    with httpx.Client(timeout=10.0) as poll:
        while sender.is_alive():
            started = time.monotonic()
            r = poll.head(url, headers=TUS)
            slowest = max(slowest, time.monotonic() - started)
            assert r.status_code == 200
            seen.append(int(r.headers["Upload-Offset"]))
    sender.join()
    assert result["status"] == 204, result  # the first and only attempt
    assert len(seen) > 10 and seen == sorted(seen)
    assert slowest < 0.5, slowest  # a HEAD never waits for a healthy PATCH
    assert http.get(url).content == data


def test_a_retry_at_the_recorded_offset_supersedes_a_running_patch(
    http: httpx.Client, server: UploadServer
) -> None:
    """tus-js-client after a network loss: HEAD, then PATCH at that offset, while the old
    request still trickles in. The new one takes over at once (204); the old one gets 503
    and what it had not recorded is dropped (the retry sends it again)."""
    data = os.urandom(2 * MIB)
    url = create(http, len(data))
    old: dict[str, object] = {}
    sender = threading.Thread(target=send_paced, args=(url, data, 1 * MIB, old))
    sender.start()
    time.sleep(0.5)  # the old PATCH is healthy and half way
    at = head_offset(http, url)
    started = time.monotonic()
    r = patch(http, url, at, data[at:])
    took = time.monotonic() - started
    sender.join()
    assert r.status_code == 204, (r.status_code, r.text)
    assert took < 1.5, took
    assert old["status"] in (503, 409) or "Error" in str(old["status"]), old
    assert http.get(url).content == data


def test_a_competing_patch_elsewhere_waits_for_a_healthy_one_then_gets_423(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path / "data", "--lock-timeout", "1s") as srv,
        httpx.Client(base_url=srv.url, timeout=30.0) as http,
    ):
        data = os.urandom(3 * MIB)
        url = create(http, len(data))
        old: dict[str, object] = {}
        sender = threading.Thread(target=send_paced, args=(url, data, 1 * MIB, old))
        sender.start()
        time.sleep(0.5)
        r = patch(http, url, 1234, b"x")  # not the recorded offset: no retry of ours
        sender.join()
        assert r.status_code == 423, (r.status_code, r.text)
        assert old["status"] == 204, old  # the healthy upload went on undisturbed
        assert http.get(url).content == data


def test_delete_always_stops_a_running_patch(http: httpx.Client, server: UploadServer) -> None:
    data = os.urandom(2 * MIB)
    url = create(http, len(data))
    old: dict[str, object] = {}
    sender = threading.Thread(target=send_paced, args=(url, data, 1 * MIB, old))
    sender.start()
    time.sleep(0.4)
    started = time.monotonic()
    r = http.delete(url, headers=TUS)
    took = time.monotonic() - started
    sender.join()
    assert r.status_code == 204 and took < 1.5, (r.status_code, took)
    assert http.head(url, headers=TUS).status_code in (404, 410)
