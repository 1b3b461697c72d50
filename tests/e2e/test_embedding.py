"""The upload app mounted inside a user's FastAPI application (issue 15, item 4): the
user's routes and tus under `/uploads/files/` side by side, Location URLs carrying the
prefix, a real tus client (tuspy) uploading through it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus_client

from tests.servers import ROOT, free_port, wait_until

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def host(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "EMBED_DATA_DIR": str(tmp_path / "data")}
    env.pop("PYTHONPATH", None)
    log = (tmp_path / "host.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.embed_host:app", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(base + "/hello").status_code == 200, 20, "the host app")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_host_app_serves_its_routes_and_tus_under_a_prefix(host: str, tmp_path: Path) -> None:
    assert httpx.get(host + "/hello").json() == {"hello": "world"}
    options = httpx.options(host + "/uploads/files/")
    assert options.status_code == 204 and "creation" in options.headers["Tus-Extension"]
    data = os.urandom(3 * 1024 * 1024 + 5)
    source = tmp_path / "file.bin"
    source.write_bytes(data)
    with source.open("rb") as stream:  # a stream: tuspy leaves files it opens unclosed
        uploader = tus_client.TusClient(host + "/uploads/files/").uploader(
            file_stream=stream, chunk_size=1024 * 1024
        )
        uploader.upload()
    url = uploader.url
    assert url is not None and url.startswith(host + "/uploads/files/"), url
    assert httpx.head(url, headers=TUS).headers["Upload-Offset"] == str(len(data))
    assert httpx.get(url).content == data
    missing = httpx.get(host + "/uploads/files/a/b", headers=TUS)
    assert missing.status_code == 404 and missing.headers["Tus-Resumable"] == "1.0.0"
    assert httpx.get(host + "/uploads/healthz").json() == {"status": "ok"}
