"""Expiry: a session not completed in time answers 410 session_expired and its chunks go;
each stored chunk moves expiresAt; completed attachments never expire."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import UploadServer, running_server

from .conftest import CHUNK, assembly_files, error_code, initiate, put, sessions_url
from .test_initiate import rfc3339


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("data")
    with running_server(
        data, "--chunk-size", "64KiB", "--session-expire-after", "2s", "--sweep-interval", "0.2s"
    ) as srv:
        yield srv


@pytest.fixture
def client(short: UploadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sessions_url(short), timeout=30.0) as c:
        yield c


def _wait(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_an_abandoned_session_expires_and_leaves_no_bytes(
    client: httpx.Client, short: UploadServer
) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(client, len(data))["sessionId"]
    put(client, sid, 0, data[:CHUNK])
    assert assembly_files(short.data_dir)
    assert _wait(lambda: client.get(f"/session/{sid}").status_code == 410, 10)
    for r in (
        client.get(f"/session/{sid}"),
        put(client, sid, 1, data[CHUNK:]),
        client.post(f"/session/{sid}/complete"),
        client.post(f"/session/{sid}/abort"),
    ):
        assert r.status_code == 410 and error_code(r) == "session_expired", r.text
    assert _wait(lambda: not assembly_files(short.data_dir), 10), assembly_files(short.data_dir)
    names = {p.name for p in short.data_dir.iterdir()}
    assert names <= {".state", ".locks", ".assemblies"}, names


def test_each_chunk_moves_expiry_forward(client: httpx.Client) -> None:
    data = os.urandom(3 * CHUNK)
    s = initiate(client, len(data))
    sid, first = s["sessionId"], rfc3339(s["expiresAt"])
    for i in range(3):
        time.sleep(1.0)
        assert put(client, sid, i, data[i * CHUNK : (i + 1) * CHUNK]).status_code == 200
    later = rfc3339(client.get(f"/session/{sid}").json()["expiresAt"])
    assert later >= first + 2, (first, later)
    r = client.post(f"/session/{sid}/complete")
    assert r.status_code == 201
    time.sleep(3)
    assert client.get(r.headers["Location"]).content == data  # attachments never expire
    state = client.get(f"/session/{sid}").json()
    assert state["status"] == "completed" and state["expiresAt"] is None
