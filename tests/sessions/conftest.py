"""Fixtures: a real `upload` server process per test module, and session helpers.

Chunks are 64 KiB here (`--chunk-size 64KiB`) so small files span several chunks."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import UploadServer, running_server

CHUNK = 64 * 1024


def sessions_url(server: UploadServer) -> str:
    return f"http://127.0.0.1:{server.port}/attachment"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("data")
    with running_server(data, "--max-size", "64MiB", "--chunk-size", "64KiB") as srv:
        yield srv


@pytest.fixture
def http(server: UploadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sessions_url(server), timeout=30.0) as client:
        yield client


def sha256_digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def initiate(http: httpx.Client, size: int, name: str = "file.bin", **extra: Any) -> dict[str, Any]:
    r = http.post("/initiate", json={"fileName": name, "fileSize": size, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def chunks_of(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def put(http: httpx.Client, sid: str, index: int, body: bytes, **headers: str) -> httpx.Response:
    return http.put(f"/session/{sid}/upload/{index}", content=body, headers=headers)


def upload_all(http: httpx.Client, sid: str, data: bytes, size: int = CHUNK) -> None:
    for i, chunk in enumerate(chunks_of(data, size)):
        r = put(http, sid, i, chunk)
        assert r.status_code == 200, r.text


def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert body["status"] == "error", body
    assert set(body["error"]) >= {"code", "message"}, body
    return str(body["error"]["code"])


def open_put(server: UploadServer, sid: str, index: int, length: int) -> socket.socket:
    """Start a chunk PUT announcing `length` body bytes; the caller sends some of them."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(
        (
            f"PUT /attachment/session/{sid}/upload/{index} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
    )
    return sock


def assembly_files(data_dir: Path) -> list[str]:
    folder = data_dir / ".assemblies"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
