"""FileByteStore passes the byte-store contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.persist.filestore import FileByteStore, FileChunkWriter
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.protocols import ChunkWriter

from .persist_contract import ByteStoreContract

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["patch", "never", "patch-buffered", "patch-one-direct-buffer"])
def byte_store(tmp_path: Path, request: pytest.FixtureRequest) -> FileByteStore:
    """Small buffers so "big" writes really reach the file before commit and cross many
    O_DIRECT blocks at unaligned offsets; `buffered` is the path where O_DIRECT is refused."""
    policy, _, mode = str(request.param).partition("-")
    direct_buffers = {"": 16, "buffered": 0, "one-direct-buffer": 1}[mode]
    return FileByteStore(
        tmp_path / "data",
        FsyncPolicy.parse(policy),
        buffer_size=65536,
        direct_buffer=16384,
        direct_buffers=direct_buffers,
    )


class TestFileByteStore(ByteStoreContract):
    async def lose(self, writer: ChunkWriter) -> None:
        assert isinstance(writer, FileChunkWriter)
        await writer.drain()
