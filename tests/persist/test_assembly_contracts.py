"""Assembly from parts on the embedded stores: SQLite and memory state, parts on disk."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist.file_parts import ASSEMBLY_DIR, FileParts
from tuskit.persist.filestore import FileByteStore
from tuskit.persist.fsync import FsyncPolicy
from tuskit.persist.memory_assemblies import MemoryAssemblyStore
from tuskit.persist.model import UploadInfo
from tuskit.persist.sqlite_assemblies import SCHEMA_VERSION, SqliteAssemblyStore, sessions_path

from .assembly_contract import AssemblyStoreContract, PartsEnv, PartStoreContract, assembly

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "memory"])
async def assembly_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SqliteAssemblyStore | MemoryAssemblyStore]:
    store = (
        SqliteAssemblyStore(tmp_path / "state" / "uploads.sessions.sqlite3")
        if request.param == "sqlite"
        else MemoryAssemblyStore()
    )
    yield store
    await store.close()


class TestEmbeddedAssemblyStores(AssemblyStoreContract):
    pass


async def test_sqlite_assemblies_survive_reopen_in_their_own_file(tmp_path: Path) -> None:
    path = sessions_path(tmp_path / ".state" / "uploads.sqlite3")
    assert path.name == "uploads.sessions.sqlite3"
    store = SqliteAssemblyStore(path)
    a = assembly()
    await store.create_assembly(a)
    await store.close()
    again = SqliteAssemblyStore(path)
    assert await again.get_assembly(a.id) == a
    version = again._db.execute("SELECT version FROM assemblies_schema").fetchone()[0]
    assert version == SCHEMA_VERSION
    await again.close()


@pytest.fixture(params=["direct", "buffered", "never"])
def parts_env(request: pytest.FixtureRequest, tmp_path: Path) -> PartsEnv:
    """Parts of 1 MiB (O_DIRECT) or 64 KiB (buffered; or without fsync)."""
    store = FileByteStore(
        tmp_path / "data",
        FsyncPolicy.parse("never" if request.param == "never" else "patch"),
        direct_buffers=0 if request.param == "buffered" else 16,
    )
    parts = FileParts(store)

    async def leftovers(target: UploadInfo) -> list[str]:
        names = [p.name for p in (tmp_path / "data" / ASSEMBLY_DIR).iterdir()]
        return names + [n for n in os.listdir(tmp_path / "data") if n == target.id]

    size = 1024 * 1024 if request.param == "direct" else 65536
    return PartsEnv(parts, store, leftovers, size)


class TestFileParts(PartStoreContract):
    async def test_the_assembled_file_is_the_parts_file(self, parts_env: PartsEnv) -> None:
        """No copy: the upload's name is a hard link to the parts' file, which goes once
        the upload is recorded."""
        assert isinstance(parts_env.parts, FileParts)
        parts = parts_env.parts
        target = UploadInfo(id="linkcheck", length=5, offset=5)
        await parts.begin_parts(target, parts_env.part_size)
        writer = await parts.open_part(target, 0, 0, 5)
        await writer.write(b"hello")
        await writer.commit()
        await parts.assemble(target, [])
        final = parts.store.path("linkcheck")
        assert os.stat(final).st_ino == os.stat(parts.path("linkcheck")).st_ino
        await parts.finish_parts(target)
        assert not parts.path("linkcheck").exists() and final.read_bytes() == b"hello"
