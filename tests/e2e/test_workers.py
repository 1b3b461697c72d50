"""`upload --workers N`: several worker processes serve one data dir and one port."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from tests.servers import running_server

TUS = {"Tus-Resumable": "1.0.0"}


def upload(url: str, data: bytes, chunk: int) -> str:
    with httpx.Client(timeout=30.0) as client:
        r = client.post(url, headers={**TUS, "Upload-Length": str(len(data))})
        assert r.status_code == 201, r.text
        location = r.headers["Location"]
        for offset in range(0, len(data), chunk):
            r = client.patch(
                location,
                content=data[offset : offset + chunk],
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert r.status_code == 204, r.text
        return location


def test_two_workers_share_the_port_and_the_data_dir(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", "--workers", "2") as server:
        assert server.proc is not None
        workers = psutil.Process(server.proc.pid).children(recursive=True)
        assert len([w for w in workers if "python" in w.name()]) >= 2
        blobs = [os.urandom(3 * 1024 * 1024 + i) for i in range(8)]
        with ThreadPoolExecutor(4) as pool:
            locations = list(pool.map(lambda b: upload(server.url, b, 512 * 1024), blobs))
        with httpx.Client(timeout=30.0) as client:
            for location, blob in zip(locations, blobs, strict=True):
                got = client.get(location).content
                assert hashlib.sha256(got).digest() == hashlib.sha256(blob).digest()
        assert server.stop() == 0
