"""Stress: resumed, unaligned long PATCHes (the O_DIRECT path) while other requests keep
taking the upload over. Every finished upload must hold exactly the bytes sent (issue 15,
item 1: a stop during the head read once wrote a stale pool buffer over acknowledged
bytes, sometimes another upload's)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator

import httpx

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create

MIB = 1024 * 1024
UPLOADS = 3
LENGTH = 6 * MIB + 777  # odd, so resumed offsets are rarely block-aligned
PIECE = 64 * 1024
RATE = 40 * MIB  # bytes per second per sender: slow enough for takeovers mid-body
HAMMERS = 4


def paced(data: bytes, start: int, stop: threading.Event) -> Iterator[bytes]:
    """The body from `start`, in small pieces with short pauses, so takeovers land inside
    bodies (also inside the head read of the O_DIRECT switch)."""
    pos = start
    while pos < len(data) and not stop.is_set():
        yield data[pos : pos + PIECE]
        pos += PIECE
        time.sleep(PIECE / RATE)


def send(url: str, data: bytes, done: threading.Event) -> int:
    """Resume until complete, as a tus client does; returns the PATCH attempts."""
    attempts = 0
    with httpx.Client(timeout=30.0) as http:
        while attempts < 500:
            offset = int(http.head(url, headers=TUS).headers["Upload-Offset"])
            if offset == len(data):
                return attempts
            attempts += 1
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(data) - offset),
            }
            try:
                r = http.patch(url, content=paced(data, offset, done), headers=headers)
            except httpx.HTTPError:
                continue  # the server answered early and closed: resume from HEAD
            if r.status_code == 204 and int(r.headers["Upload-Offset"]) == len(data):
                return attempts
            assert r.status_code in (409, 423, 503), (r.status_code, r.text)
    raise AssertionError(f"{url} not finished after {attempts} attempts")


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
        for url, blob in zip(urls, blobs, strict=True):  # unaligned first offsets
            r = http.patch(
                url,
                content=blob[:1000],
                headers={
                    **TUS,
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert r.status_code == 204
        stop = threading.Event()
        hammers = [threading.Thread(target=hammer, args=(urls, stop)) for _ in range(HAMMERS)]
        for t in hammers:
            t.start()
        results: dict[str, int | BaseException] = {}

        def run(url: str, blob: bytes) -> None:
            try:
                results[url] = send(url, blob, stop)
            except BaseException as exc:  # reported below
                results[url] = exc

        senders = [
            threading.Thread(target=run, args=(u, b)) for u, b in zip(urls, blobs, strict=True)
        ]
        try:
            for t in senders:
                t.start()
            for t in senders:
                t.join(timeout=240)
        finally:
            stop.set()
            for t in hammers:
                t.join(timeout=30)
        for url, blob in zip(urls, blobs, strict=True):
            assert isinstance(results.get(url), int), results.get(url)
            got = http.get(url).content
            assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest(), url
