"""FileByteStore passes the byte-store contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.persist.filestore import FileByteStore
from tuskit.persist.fsync import FsyncPolicy

from .persist_contract import ByteStoreContract

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["patch", "never"])
def byte_store(tmp_path: Path, request: pytest.FixtureRequest) -> FileByteStore:
    # A small buffer so "big" writes really reach the file before commit.
    return FileByteStore(tmp_path / "data", FsyncPolicy.parse(request.param), buffer_size=65536)


class TestFileByteStore(ByteStoreContract):
    pass
