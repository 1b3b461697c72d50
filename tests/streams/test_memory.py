"""Memory stays flat while a 1 GiB stream is written (chunked) and read back: the server
never holds a body whole, whatever its size."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.servers import UploadServer, running_server

MiB = 1024 * 1024
SIZE = 1024 * MiB


@pytest.fixture
def server(tmp_path: Path) -> Iterator[UploadServer]:
    with running_server(tmp_path / "data") as s:
        yield s


class Peak:
    """The highest RSS of a process, sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_gibibyte_in_and_out_with_flat_memory(server: UploadServer) -> None:
    assert server.proc is not None
    base = f"http://127.0.0.1:{server.port}/v1"
    block = bytes(range(256)) * 4096  # 1 MiB
    httpx.post(f"{base}/streams", content=b"warm up")  # imports and pools in place
    baseline = psutil.Process(server.proc.pid).memory_info().rss

    def body() -> Iterator[bytes]:
        for _ in range(SIZE // len(block)):
            yield block

    with Peak(server.proc.pid) as written:
        created = httpx.post(f"{base}/streams", content=body(), timeout=300)
    assert created.status_code == 201, created.text
    expected = hashlib.sha256()
    for _ in range(SIZE // len(block)):
        expected.update(block)
    got = hashlib.sha256()
    url = f"{base}/streams/{created.json()['id']}"
    with Peak(server.proc.pid) as read, httpx.stream("GET", url, timeout=300) as r:
        assert r.headers["content-length"] == str(SIZE)
        for chunk in r.iter_bytes(MiB):
            got.update(chunk)
    assert got.hexdigest() == expected.hexdigest()
    grown = max(written.peak, read.peak) - baseline
    assert grown < 96 * MiB, f"server RSS grew by {grown / MiB:.0f} MiB for a 1 GiB stream"
