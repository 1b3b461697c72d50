"""`httpstream -addr HOST:PORT -path DIR -d`: the original command line serves the stream
API and its queues alone, on the embedded default in DIR."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_until

SCRIPT = Path(sys.executable).parent / "httpstream"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def httpstream(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    assert SCRIPT.exists(), "the httpstream console script is not installed"
    port = free_port()
    log = tmp_path / "httpstream.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPLOAD_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCRIPT), "-addr", f"127.0.0.1:{port}", "-path", "DATA", "-d"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until(
            lambda: httpx.get(f"{base}/queues", timeout=1).status_code == 200, 20, "httpstream"
        )
        yield base, tmp_path / "DATA", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_help_lists_the_original_flags() -> None:
    result = run("-h")
    assert result.returncode == 0
    for flag in ("-addr", "-path", "-d", '"0.0.0.0:8080"', '"DATA"'):
        assert flag in result.stdout


@pytest.mark.parametrize("addr", ["8080", "host:", "host:http", "h:70000"])
def test_a_bad_addr_is_one_line_and_status_2(addr: str) -> None:
    result = run("-addr", addr)
    assert result.returncode == 2
    assert "-addr must be host:port" in result.stderr and "Traceback" not in result.stderr


def test_serves_streams_alone_in_the_path(httpstream: tuple[str, Path, Path]) -> None:
    base, data_dir, log = httpstream
    created = httpx.post(f"{base}/streams", content=b"some data")
    assert created.status_code == 201 and created.json()["status"] == "created"
    stream_id = created.json()["id"]
    assert (data_dir / stream_id).read_bytes() == b"some data"
    assert httpx.get(f"{base}/streams/{stream_id}").content == b"some data"
    queued = httpx.post(f"{base}/queues/jobs/streams", content=b"job")
    assert queued.status_code == 201
    assert httpx.get(f"{base}/queues/jobs/first").json()["id"] == queued.json()["id"]
    origin = base.removesuffix("/v1")
    tus = httpx.options(f"{origin}/files/")
    assert tus.status_code == 404  # no tus here
    assert tus.json()["status"] == "error"  # answered by the stream store, in its format
    deleted = httpx.delete(f"{base}/streams/{stream_id}")
    assert deleted.json() == {"id": stream_id, "status": "deleted"}
    assert not (data_dir / stream_id).exists()
    text = log.read_text()
    assert re.search(r"serves streams on http://127.0.0.1:\d+/v1/ \|", text)  # and nothing else
    assert f"stream {stream_id} stored: 9 bytes" in text  # -d: debug logging
