"""`Tus-Extension` is derived from what the engine's stores offer, in tus's order."""

from __future__ import annotations

from pathlib import Path

from tests.persist.test_persist_composer import CoreOnlyBytes, DeletingBytes
from tuskit.persist import FileByteStore, MemoryMetadataStore, ProcessLocker, StoreComposer
from tuskit.persist.protocols import ByteStore
from tuskit.upload.engine import Engine
from tuskit.upload.tus.extensions import extensions

FULL = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "checksum-trailer",
    "termination",
    "concatenation",
    "concatenation-unfinished",
)


def offered(byte_store: ByteStore) -> tuple[str, ...]:
    return extensions(Engine(StoreComposer(byte_store, MemoryMetadataStore(), ProcessLocker())))


def test_full_file_store_offers_everything(tmp_path: Path) -> None:
    assert offered(FileByteStore(tmp_path)) == FULL


def test_core_only_store_offers_no_optional_extension() -> None:
    got = offered(CoreOnlyBytes())
    assert "termination" not in got
    assert "concatenation" not in got
    assert "concatenation-unfinished" not in got
    assert got == FULL[:6]


def test_termination_follows_the_terminator() -> None:
    assert offered(DeletingBytes()) == tuple(e for e in FULL if not e.startswith("concatenation"))
