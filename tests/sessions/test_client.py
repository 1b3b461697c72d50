"""The handwritten upload helper (tuskit.client.sessions) on the generated client: a file
in parallel chunks, through flaky networks, resumed after the client gave up."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer
from tuskit.client.sessions import Retry, SessionUpload, UploadFailed, upload_file
from tuskit.gen.http.sessions.client import SessionsClient

from .conftest import CHUNK, sessions_url


class Flaky(httpx.AsyncBaseTransport):
    """Fails chunk PUTs: every `every`-th one, or all after `budget` went through."""

    def __init__(self, every: int = 0, budget: int | None = None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.every = every
        self.budget = budget
        self.puts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.puts += 1
            if (self.every and self.puts % self.every == 0) or (
                self.budget is not None and self.puts > self.budget
            ):
                raise httpx.ConnectError("network down (test)", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(os.urandom(size))
    return path


def _fetch(server: UploadServer, location: str) -> bytes:
    r = httpx.get(location, timeout=30)
    assert r.status_code == 200
    return r.content


def test_a_file_in_parallel_chunks(server: UploadServer, tmp_path: Path) -> None:
    path = _file(tmp_path, 16 * CHUNK + 999)
    seen: list[str] = []
    att = asyncio.run(upload_file(sessions_url(server), path, parallel=4, on_session=seen.append))
    assert att.file_name == "source.bin" and att.file_size == path.stat().st_size
    assert len(seen) == 1
    assert _fetch(server, att.location) == path.read_bytes()


def test_an_empty_file(server: UploadServer, tmp_path: Path) -> None:
    path = _file(tmp_path, 0)
    att = asyncio.run(upload_file(sessions_url(server), path))
    assert att.file_size == 0 and _fetch(server, att.location) == b""


def test_a_flaky_network_is_retried(server: UploadServer, tmp_path: Path) -> None:
    path = _file(tmp_path, 9 * CHUNK)

    async def run() -> str:
        transport = Flaky(every=3)
        async with httpx.AsyncClient(transport=transport, timeout=30) as http:
            att = await upload_file(
                sessions_url(server), path, parallel=3, http=http, retry=Retry(backoff=0.01)
            )
        assert transport.puts > 9
        return att.location

    assert _fetch(server, asyncio.run(run())) == path.read_bytes()


def test_resume_after_the_client_gave_up_sends_only_missing_chunks(
    server: UploadServer, tmp_path: Path
) -> None:
    path = _file(tmp_path, 10 * CHUNK + 1)
    seen: list[str] = []

    async def first() -> None:
        async with httpx.AsyncClient(transport=Flaky(budget=4), timeout=30) as http:
            await upload_file(
                sessions_url(server), path, parallel=2, http=http, on_session=seen.append,
                retry=Retry(attempts=1, rounds=0),
            )  # fmt: skip

    with pytest.raises(UploadFailed) as failed:
        asyncio.run(first())
    assert failed.value.session_id == seen[0]

    async def resume() -> tuple[str, int]:
        async with httpx.AsyncClient(timeout=30) as http:
            upload = SessionUpload(
                SessionsClient(sessions_url(server), client=http),
                path,
                session_id=failed.value.session_id,
            )
            att = await upload.run()
            return att.location, upload.sent

    state = httpx.get(f"{sessions_url(server)}/session/{seen[0]}").json()
    stored = len(state["receivedChunks"])  # 4 went out; one may have been cut off
    assert 3 <= stored <= 4, state
    location, sent = asyncio.run(resume())
    assert sent == 11 - stored  # chunks the server had were not sent again
    assert (
        hashlib.sha256(_fetch(server, location)).digest()
        == hashlib.sha256(path.read_bytes()).digest()
    )


def test_resuming_with_another_file_is_refused(server: UploadServer, tmp_path: Path) -> None:
    path = _file(tmp_path, 3 * CHUNK)
    r = httpx.post(sessions_url(server) + "/initiate", json={"fileName": "x", "fileSize": 5}).json()
    with pytest.raises(UploadFailed, match="is for 5 bytes"):
        asyncio.run(upload_file(sessions_url(server), path, session_id=r["sessionId"]))
