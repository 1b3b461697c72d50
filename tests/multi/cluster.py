"""Helpers for the several-instances tests: raw-socket PATCHes, bucket inspection."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.helpers import TUS, MiB
from tests.scale.seaweed import BUCKET, Seaweed
from tests.servers import UploadServer


class RawPatch:
    """A PATCH written by hand on a socket, so its body can stop mid-way (stall) while
    the connection stays open, or the server can be killed under it."""

    def __init__(self, server: UploadServer, upload_id: str, offset: int, length: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        head = (
            f"PATCH /files/{upload_id} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Tus-Resumable: {TUS['Tus-Resumable']}\r\n"
            f"Upload-Offset: {offset}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        self.sock.sendall(head.encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, timeout: float) -> str:
        """The status line the server sent, or 'closed' / 'reset' / 'timeout'."""
        self.sock.settimeout(timeout)
        got = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\r\n" not in got and time.monotonic() < deadline:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return got.decode(errors="replace") or "closed"
                got += chunk
        except TimeoutError:
            return "timeout"
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
        return got.split(b"\r\n", 1)[0].decode(errors="replace") or "timeout"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as f:
        f.seek(start)
        return f.read(end - start)


def stream_sha256(
    url: str, timeout: float = 60.0, logs: Callable[[], str] = lambda: ""
) -> tuple[int, str]:
    """(bytes, sha256) of a GET, hashed while it streams; a download cut short fails with
    the servers' logs (`logs`), which say why."""
    h = hashlib.sha256()
    n = 0
    try:
        with httpx.stream("GET", url, timeout=timeout) as response:
            assert response.status_code == 200, (response.status_code, response.read()[:300])
            for block in response.iter_bytes(MiB):
                h.update(block)
                n += len(block)
    except httpx.TransportError as exc:
        raise AssertionError(f"GET {url} broke after {n} bytes: {exc}\n{logs()}") from exc
    return n, h.hexdigest()


def leftovers(weed: Seaweed, prefix: str) -> tuple[list[str], list[str]]:
    """(object keys, keys of multipart uploads in progress) under `prefix`."""
    c = weed.client()
    objects: list[str] = []
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        objects += [str(o["Key"]) for o in page.get("Contents", [])]
    uploads = c.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
    return objects, [str(u["Key"]) for u in uploads]


def wipe_prefix(weed: Seaweed, prefix: str) -> None:
    """Remove what a test left under its key prefix (multipart uploads and objects)."""
    c = weed.client()
    for u in c.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []):
        c.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            c.delete_object(Bucket=BUCKET, Key=o["Key"])
