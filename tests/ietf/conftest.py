"""Fixtures: a real `upload` process per test module, spoken to over raw HTTP/1.1 (h11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import UploadServer, running_server

from .raw import Answer, request

V9 = {"Upload-Draft-Interop-Version": "9"}
V6 = {"Upload-Draft-Interop-Version": "6"}
PARTIAL = {"Content-Type": "application/partial-upload"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("data")
    with running_server(
        data, "--max-size", "64MiB", "--expire-after", "1h", "--ietf-progress-interval", "0.2"
    ) as srv:
        yield srv


class Client:
    """Requests to one server's IETF endpoint (`/uploads/`), answers with their 1xx."""

    def __init__(self, server: UploadServer) -> None:
        self.port = server.port
        self.base = f"http://127.0.0.1:{server.port}/uploads/"

    def path(self, url: str) -> str:
        return url.removeprefix(f"http://127.0.0.1:{self.port}")

    def __call__(
        self,
        method: str,
        url: str = "/uploads/",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        *,
        chunked: bool = False,
    ) -> Answer:
        return request(self.port, method, self.path(url), headers, body, chunked=chunked)

    def create(self, body: bytes = b"", complete: bool = False, **headers: str) -> Answer:
        h = {**V9, "Upload-Complete": "?1" if complete else "?0", **headers}
        answer = self("POST", "/uploads/", h, body)
        assert answer.status == 201, (answer.status, answer.body)
        return answer

    def append(
        self, url: str, offset: int, body: bytes, complete: bool = False, **headers: str
    ) -> Answer:
        h = {
            **V9,
            **PARTIAL,
            "Upload-Offset": str(offset),
            "Upload-Complete": "?1" if complete else "?0",
            **headers,
        }
        return self("PATCH", url, h, body)

    def head(self, url: str, **headers: str) -> Answer:
        return self("HEAD", url, {**V9, **headers})


@pytest.fixture
def client(server: UploadServer) -> Client:
    return Client(server)
