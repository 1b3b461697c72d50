"""MemoryMetadataStore passes the metadata contract and never shares mutable state."""

from __future__ import annotations

import pytest

from tuskit.persist.memory import MemoryMetadataStore

from .persist_contract import MetadataStoreContract, record

pytestmark = pytest.mark.anyio


@pytest.fixture
def metadata_store() -> MemoryMetadataStore:
    return MemoryMetadataStore()


class TestMemoryMetadataStore(MetadataStoreContract):
    async def test_smuggled_lists_are_copied_to_tuples(
        self, metadata_store: MemoryMetadataStore
    ) -> None:
        partials = ["a", "b"]
        meta = [("k", "v")]
        info = record(partials=partials, metadata=meta)
        await metadata_store.create(info)
        partials.append("c")
        meta.append(("x", "y"))
        got = await metadata_store.get(info.id)
        assert got is not None
        assert got.partials == ("a", "b")
        assert got.metadata == (("k", "v"),)
