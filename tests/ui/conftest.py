"""Fixtures for the upload page: one chromium per module, real `upload` processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.servers import UploadServer

from .browser import launch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MakeServer = Callable[..., "PageServer"]


class PageServer(UploadServer):
    """An `upload` process whose tus endpoint may be elsewhere than /files/."""

    tus_path: str = "/files/"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.tus_path}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeServer]:
    """Start `upload` with flags; every process is stopped (by PID) when the module ends."""
    started: list[UploadServer] = []

    def make(*args: str, tus_path: str = "/files/") -> PageServer:
        data = tmp_path_factory.mktemp("data")
        server = PageServer(data, ("--expire-after", "1h", *args))
        server.tus_path = tus_path
        started.append(server)
        try:
            server.start()
        except (TimeoutError, RuntimeError) as exc:
            pytest.fail(f"upload server did not start: {exc}\n{server.log()[-3000:]}")
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random files: big.bin (30 MiB), resume.bin (30 MiB), small.bin (3 MiB)."""
    where = tmp_path_factory.mktemp("files")
    for name, size in (("big.bin", 30 << 20), ("resume.bin", 30 << 20), ("small.bin", 3 << 20)):
        (where / name).write_bytes(os.urandom(size))
    return where
