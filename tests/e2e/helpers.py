"""Helpers shared by the end-to-end tests: files, HEAD/GET, digests."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.servers import UploadServer

TUS = {"Tus-Resumable": "1.0.0"}
MiB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MiB):
            h.update(block)
    return h.hexdigest()


def random_file(path: Path, size: int, seed: int) -> Path:
    """A reproducible random file (reproducible so a failure can be replayed)."""
    rng = random.Random(seed)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n
    return path


def head(url: str, timeout: float = 10.0) -> httpx.Response:
    return httpx.head(url, headers=TUS, timeout=timeout)


def head_offset(url: str) -> int:
    response = head(url)
    assert response.status_code in (200, 204), (response.status_code, response.text)
    return int(response.headers["Upload-Offset"])


def download(url: str, byte_range: tuple[int, int] | None = None) -> bytes:
    """GET the upload's bytes (optionally `Range: bytes=start-end`, end inclusive)."""
    headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"}
    response = httpx.get(url, headers=headers, timeout=60.0)
    expected = 200 if byte_range is None else 206
    assert response.status_code == expected, (response.status_code, response.text[:300])
    return response.content


def server_failure(server: UploadServer, what: str) -> str:
    """A message with the server's log tail, for assertion failures."""
    return f"{what}\n--- server log ({server.port}) ---\n{server.log()[-4000:]}"


def create_upload(endpoint: str, length: int, **headers: str) -> str:
    """POST a new upload of `length` bytes; returns its absolute URL."""
    response = httpx.post(
        endpoint, headers={**TUS, "Upload-Length": str(length), **headers}, timeout=10.0
    )
    assert response.status_code == 201, (response.status_code, response.text)
    return str(response.headers["Location"])


def patch(
    client: httpx.Client, url: str, offset: int, body: bytes | Iterator[bytes], length: int
) -> httpx.Response:
    """PATCH `length` bytes at `offset`; `body` may be a generator (sent as it yields,
    with a Content-Length, not chunked)."""
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(length),
    }
    return client.patch(url, content=body, headers=headers)
