"""Fixtures: a real `upload` server process per test module, plus per-test helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer, running_server

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("data")
    with running_server(data, "--max-size", "64MiB", "--expire-after", "1h") as srv:
        yield srv


@pytest.fixture
def http(server: UploadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


def create(http: httpx.Client, length: int | None = None, **headers: str) -> str:
    """POST a new upload; returns its absolute URL."""
    h = {**TUS, **headers}
    if length is not None:
        h["Upload-Length"] = str(length)
    response = http.post("", headers=h)
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def patch(http: httpx.Client, url: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    h = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    return http.patch(url, content=data, headers=h)


@pytest.fixture
def data_dir(server: UploadServer) -> Path:
    return server.data_dir
