"""kill -9 between chunks, in the middle of a chunk and during completion: after a
restart on the same data dir the client resumes from GET session, completes, and the
download is right; nothing is assembled twice."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import assembly_files, chunks_of, open_put, sessions_url, sha256_digest

MiB = 1024 * 1024
pytestmark = pytest.mark.slow


def _start(data_dir: Path, port: int = 0) -> UploadServer:
    return UploadServer(data_dir, ("--chunk-size", "4MiB"), port=port).start()


def _client(server: UploadServer) -> httpx.Client:
    return httpx.Client(base_url=sessions_url(server), timeout=60.0)


def _state(c: httpx.Client, sid: str) -> dict[str, object]:
    r = c.get(f"/session/{sid}")
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _data_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if not p.name.startswith("."))


def test_kill9_between_and_inside_chunks_then_resume(tmp_path: Path) -> None:
    data = os.urandom(5 * 4 * MiB + 123)
    parts = chunks_of(data, 4 * MiB)
    server = _start(tmp_path / "data")
    try:
        with _client(server) as c:
            s = c.post("/initiate", json={"fileName": "k.bin", "fileSize": len(data)}).json()
            sid = s["sessionId"]
            for i in (4, 0, 2):
                assert c.put(f"/session/{sid}/upload/{i}", content=parts[i]).status_code == 200
        sock = open_put(server, sid, 1, len(parts[1]))
        sock.sendall(parts[1][: 3 * MiB])
        time.sleep(0.3)
        server.kill9()
        sock.close()
        server = _start(tmp_path / "data", server.port)
        with _client(server) as c:
            state = _state(c, sid)
            assert state["receivedChunks"] == [0, 2, 4]  # the cut chunk is absent
            for i in state["missingChunks"]:  # type: ignore[attr-defined]
                assert c.put(f"/session/{sid}/upload/{i}", content=parts[i]).status_code == 200
            r = c.post(f"/session/{sid}/complete")
            assert r.status_code == 201, r.text
            got = c.get(r.headers["Location"])
            assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
    finally:
        server.stop()


def _complete_raw(server: UploadServer, sid: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(
        f"POST /attachment/session/{sid}/complete HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    return sock


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.06, 0.15, 0.4])
def test_kill9_during_complete_never_assembles_twice_nor_loses_it(
    tmp_path: Path, delay: float
) -> None:
    data = os.urandom(6 * 4 * MiB + 5)
    server = _start(tmp_path / "data")
    try:
        with _client(server) as c:
            body = {"fileName": "c.bin", "fileSize": len(data), "checksum": sha256_digest(data)}
            sid = c.post("/initiate", json=body).json()["sessionId"]
            for i, part in enumerate(chunks_of(data, 4 * MiB)):
                assert c.put(f"/session/{sid}/upload/{i}", content=part).status_code == 200
        sock = _complete_raw(server, sid)
        time.sleep(delay)
        server.kill9()
        sock.close()
        server = _start(tmp_path / "data", server.port)
        with _client(server) as c:
            state = _state(c, sid)
            assert state["missingChunks"] == [], state
            first = c.post(f"/session/{sid}/complete")
            assert first.status_code in (200, 201), first.text
            again = c.post(f"/session/{sid}/complete")
            assert again.status_code == 200 and again.json() == first.json()
            aid = first.json()["attachmentId"]
            got = c.get(f"/{aid}")
            assert got.status_code == 200 and got.content == data
        assert _data_files(tmp_path / "data") == [aid]  # one result, no second copy
        assert assembly_files(tmp_path / "data") == []
    finally:
        server.stop()
