"""Fixtures for the operations tests: real `upload` processes and a real hook receiver,
each started by the test that uses it and ended by PID (or by its own shutdown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.servers import UploadServer

from .receiver import Receiver


class MakeServer(Protocol):
    def __call__(self, *args: str, data_dir: Path | None = None, **env: str) -> UploadServer: ...


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    started: list[UploadServer] = []

    def make(*args: str, data_dir: Path | None = None, **env: str) -> UploadServer:
        data = data_dir or tmp_path / f"data{len(started)}"
        data.mkdir(parents=True, exist_ok=True)
        server = UploadServer(data, ("--expire-after", "1h", *args), env)
        started.append(server)
        try:
            return server.start()
        except (TimeoutError, RuntimeError) as exc:
            pytest.fail(f"upload server did not start: {exc}\n{server.log()[-3000:]}")

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
