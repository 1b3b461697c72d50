"""Stress: resumed, unaligned long PATCHes (the O_DIRECT path) cut and taken over at
random points. Every finished upload must hold exactly the bytes sent (issue 15, item 1:
a stop during the head read once wrote a stale pool buffer over acknowledged bytes,
sometimes another upload's).

Each client loses its connection mid-body at random (the server keeps what arrived, so
the next PATCH resumes at an unaligned offset and first reads that block back), or
retries while its old request is still open (the retry at the recorded offset supersedes
it), while other clients HEAD every upload."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create

MIB = 1024 * 1024
UPLOADS = 3
LENGTH = 6 * MIB + 777  # odd, so resumed offsets are rarely block-aligned
PIECE = 64 * 1024
ROUNDS = 12  # cut or superseded bodies per upload before the last, whole one


def open_patch(server: UploadServer, url: str, offset: int, length: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        (
            f"PATCH {urlsplit(url).path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
    )
    return sock


def offset_of(http: httpx.Client, url: str) -> int:
    return int(http.head(url, headers=TUS).headers["Upload-Offset"])


def wait_offset_settles(http: httpx.Client, url: str) -> int:
    """After a cut connection the server records what arrived; wait until it has."""
    last = offset_of(http, url)
    for _ in range(100):
        time.sleep(0.02)
        now = offset_of(http, url)
        if now == last:
            return now
        last = now
    return last


def upload(server: UploadServer, url: str, blob: bytes, seed: int) -> int:
    """Cut and superseded bodies first, then the rest whole; returns PATCH attempts."""
    rng = random.Random(seed)
    attempts = 0
    stale: list[socket.socket] = []
    with httpx.Client(timeout=30.0) as http:
        for _ in range(ROUNDS):
            offset = wait_offset_settles(http, url)
            if offset >= len(blob):
                break
            rest = len(blob) - offset
            cut = min(rest - 1, rng.randint(PIECE, 3 * MIB))  # past 2 MiB: the direct path
            if cut <= 0:
                break
            attempts += 1
            sock = open_patch(server, url, offset, rest)
            try:
                for start in range(offset, offset + cut, PIECE):
                    sock.sendall(blob[start : min(start + PIECE, offset + cut)])
            except OSError:
                pass  # superseded and answered early
            if rng.random() < 0.5:
                sock.close()  # network loss: the server keeps what arrived
            else:
                stale.append(sock)  # still open: the next PATCH supersedes it
        for _ in range(50):
            offset = wait_offset_settles(http, url)
            if offset == len(blob):
                break
            attempts += 1
            r = http.patch(
                url,
                content=blob[offset:],
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if r.status_code == 204:
                break
            assert r.status_code in (409, 423, 503), (r.status_code, r.text)
    for sock in stale:
        sock.close()
    return attempts


def hammer(urls: list[str], stop: threading.Event) -> None:
    """HEAD every upload in a loop (a dashboard polling progress)."""
    with httpx.Client(timeout=10.0) as http:
        while not stop.is_set():
            for url in urls:
                http.head(url, headers=TUS)
            time.sleep(0.005)


def test_resumed_unaligned_long_patches_keep_every_byte(server: UploadServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        blobs = [os.urandom(LENGTH) for _ in range(UPLOADS)]
        urls = [create(http, LENGTH) for _ in blobs]
        stop = threading.Event()
        hammers = [threading.Thread(target=hammer, args=(urls, stop)) for _ in range(2)]
        results: list[int | BaseException] = []

        def run(url: str, blob: bytes, seed: int) -> None:
            try:
                results.append(upload(server, url, blob, seed))
            except BaseException as exc:  # reported below
                results.append(exc)

        senders = [
            threading.Thread(target=run, args=(u, b, i))
            for i, (u, b) in enumerate(zip(urls, blobs, strict=True))
        ]
        try:
            for t in [*hammers, *senders]:
                t.start()
            for t in senders:
                t.join(timeout=240)
        finally:
            stop.set()
            for t in hammers:
                t.join(timeout=30)
        assert len(results) == len(senders)
        assert all(isinstance(r, int) and r > 1 for r in results), results
        for url, blob in zip(urls, blobs, strict=True):
            got = http.get(url).content
            assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest(), url
