"""`/healthz` and `/readyz` (issue 15, item 4): a live process answers the first, the second
only while its stores answer and it is not draining."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    with running_server(tmp_path_factory.mktemp("health")) as srv:
        yield srv


def test_healthz_and_readyz_on_a_running_server(server: UploadServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    alive = httpx.get(base + "/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    ready = httpx.get(base + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert ready.headers["cache-control"] == "no-store"
    assert httpx.head(base + "/readyz").status_code == 200


def test_readyz_is_503_when_a_store_does_not_answer(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as srv:
        base = f"http://127.0.0.1:{srv.port}"
        assert httpx.get(base + "/readyz").status_code == 200
        shutil.rmtree(tmp_path / "data")  # the disk under the byte store went away
        r = httpx.get(base + "/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        assert httpx.get(base + "/healthz").status_code == 200  # alive all the same
