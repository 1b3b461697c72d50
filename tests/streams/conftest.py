"""Fixtures: a real `upload` server per test module and store setup (files + SQLite,
S3 + Redis, S3 + PostgreSQL), httpx clients on its `/v1`, and stream helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.scale.seaweed import Seaweed
from tests.servers import UploadServer

from .setups import SETUPS, Setup, setup

MAX_SIZE = 64 * 1024 * 1024


@pytest.fixture(scope="module", params=SETUPS)
def store_setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    weed: Seaweed | None = None
    if request.param != "file":
        weed = request.getfixturevalue("seaweed")
    yield from setup(request.param, tmp_path_factory.mktemp(request.param), weed)


@pytest.fixture(scope="module")
def server(store_setup: Setup) -> Iterator[UploadServer]:
    args = [*store_setup.args, "--max-size", f"{MAX_SIZE}", "--sweep-interval", "1s"]
    srv = UploadServer(store_setup.data_dir, args)
    store_setup.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        srv.start()
    except (TimeoutError, RuntimeError) as exc:
        pytest.fail(f"upload server did not start: {exc}\n{srv.log()[-3000:]}")
    try:
        yield srv
    finally:
        srv.stop()


def api(server: UploadServer) -> str:
    return f"http://127.0.0.1:{server.port}/v1"


@pytest.fixture
def http(server: UploadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api(server), timeout=60.0) as client:
        yield client


def store(http: httpx.Client, data: bytes, path: str = "/streams", **headers: str) -> str:
    """POST a stream; returns its id."""
    response = http.post(path, content=data, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def enqueue(http: httpx.Client, queue: str, data: bytes = b"x", **headers: str) -> str:
    return store(http, data, f"/queues/{queue}/streams", **headers)


def error_of(response: httpx.Response) -> str:
    """The envelope's error code, after checking the envelope's shape."""
    body = response.json()
    assert body["status"] == "error" and set(body) >= {"status", "error"}, body
    assert set(body["error"]) >= {"code", "message"}, body
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return str(body["error"]["code"])


@pytest.fixture
def data_dir(store_setup: Setup) -> Path:
    return store_setup.data_dir


from tests.scale.seaweed import seaweed  # noqa: E402, F401  (session fixture: S3 setups)
