"""Graceful shutdown: SIGTERM stops stalled bodies and keeps their bytes; two signals exit now."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

KIB = 1024
MIB = 1024 * KIB


def start(data_dir: Path) -> UploadServer:
    data_dir.mkdir(exist_ok=True)
    return UploadServer(data_dir, ("--shutdown-timeout", "10s")).start()


def send_request_head(
    server: UploadServer, method: str, url: str, headers: dict[str, str]
) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    lines = [f"{method} {urlsplit(url).path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def wait_exit(server: UploadServer, timeout: float) -> tuple[int | None, float]:
    assert server.proc is not None
    started = time.monotonic()
    while server.proc.poll() is None and time.monotonic() - started < timeout:
        time.sleep(0.05)
    return server.proc.poll(), time.monotonic() - started


def test_sigterm_with_a_stalled_patch_exits_0_and_keeps_the_bytes(tmp_path: Path) -> None:
    """All three properties are checked before failing, so one run shows every problem."""
    data = os.urandom(MIB)
    sent = 256 * KIB
    problems: list[str] = []
    server = start(tmp_path / "data")
    try:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            url = create(client, len(data))
        upload_id = url.rsplit("/", 1)[-1]
        headers = {
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(data)),
        }
        with send_request_head(server, "PATCH", url, headers) as sock:
            sock.sendall(data[:sent])
            time.sleep(0.5)  # all of it reached the server; the PATCH now waits for more
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            code, elapsed = wait_exit(server, 12.0)
            sock.settimeout(0.5)
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b""
        if elapsed >= 5.0:
            problems.append(
                f"shutdown took {elapsed:.1f}s: the stalled PATCH was not stopped "
                f"(answer on its socket: {answer!r})"
            )
        if code != 0:
            problems.append(f"exit code {code}, expected 0")
    finally:
        server.stop()

    again = start(tmp_path / "data")
    try:
        with httpx.Client(base_url=again.url, timeout=10.0) as client:
            url = again.url + upload_id
            head = client.head(url, headers=TUS)
            assert head.status_code == 200, head.status_code
            kept = int(head.headers["Upload-Offset"])
            if kept != sent:
                problems.append(f"after restart the offset is {kept}, expected {sent}")
            assert client.get(url).content == data[:kept]
            r = patch(client, url, kept, data[kept:])
            assert r.status_code == 204, r.text
            assert client.get(url).content == data
    finally:
        again.stop()
    assert not problems, problems


def test_sigterm_when_idle_exits_0_quickly(tmp_path: Path) -> None:
    server = start(tmp_path / "data")
    try:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        code, elapsed = wait_exit(server, 12.0)
        assert code == 0, code
        assert elapsed < 5.0, elapsed
    finally:
        server.stop()


def test_two_signals_exit_at_once(tmp_path: Path) -> None:
    """A download the client does not read keeps a graceful shutdown waiting;
    a second SIGTERM must end the process at once."""
    server = start(tmp_path / "data")
    try:
        data = b"\x5a" * (24 * MIB)
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            url = create(client, len(data))
            assert patch(client, url, 0, data).status_code == 204
        with send_request_head(server, "GET", url, {}) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            time.sleep(0.5)  # the response fills the socket buffers and blocks
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.proc.poll() is None, "the stuck download should hold the first signal"
            server.proc.send_signal(signal.SIGTERM)
            code, elapsed = wait_exit(server, 3.0)
            assert code is not None, f"still running {elapsed:.1f}s after the second signal"
            assert elapsed < 3.0
    finally:
        server.stop()
