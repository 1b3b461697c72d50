"""Records that promise more bytes than storage holds are fixed by the append that finds
out (no start-up pass), and finished uploads stop expiring (so sweeps never walk them)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import open_local
from tuskit.upload.engine import Engine, EngineOptions
from tuskit.upload.engine.errors import OffsetMismatch

pytestmark = pytest.mark.anyio
NOW = 1_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_an_append_on_a_short_file_lowers_the_offset(tmp_path: Path) -> None:
    """An OS crash under --fsync never kept 4 of 10 recorded bytes. The next PATCH used to
    fail with a StoreError (500) on every retry; now it gets 409 with the offset the bytes
    support, the record says so too, and the client resumes from there."""
    stores = open_local(tmp_path, fsync="never")
    engine = Engine(stores, EngineOptions(expire_after=3600), clock=lambda: NOW)
    try:
        info = await engine.create(length=20)
        info = await engine.append(info.id, 0, body(b"0123456789"))
        os.truncate(tmp_path / info.id, 4)

        with pytest.raises(OffsetMismatch) as lowered:
            await engine.append(info.id, 10, body(b"abcdefghij"))
        assert lowered.value.offset == 4
        assert (await engine.status(info.id)).offset == 4

        done = await engine.append(info.id, 4, body(b"456789abcdefghij"))
        assert done.offset == 20 and done.is_complete
        assert (tmp_path / info.id).read_bytes() == b"0123456789abcdefghij"
    finally:
        await stores.close()


async def test_a_lost_file_of_a_finished_upload_reopens_it_with_an_expiry(
    tmp_path: Path,
) -> None:
    stores = open_local(tmp_path, fsync="never")
    engine = Engine(stores, EngineOptions(expire_after=3600), clock=lambda: NOW)
    try:
        info = await engine.create(length=3)
        info = await engine.append(info.id, 0, body(b"abc"))
        assert info.is_complete
        (tmp_path / info.id).unlink()
        with pytest.raises(OffsetMismatch) as lowered:
            await engine.append(info.id, 3, body())
        assert lowered.value.offset == 0
        got = await stores.metadata.get(info.id)
        assert got is not None and got.offset == 0 and got.expires_at == NOW + 3600
    finally:
        await stores.close()


async def test_a_finished_upload_keeps_no_expiry(tmp_path: Path) -> None:
    """Completed uploads kept their `expires_at`, so every sweep's expiry query walked
    each of them once past it (~3 s of event-loop CPU at 500,000 finished uploads)."""
    stores = open_local(tmp_path)
    engine = Engine(stores, EngineOptions(expire_after=3600), clock=lambda: NOW)
    try:
        info = await engine.create(length=6)
        half = await engine.append(info.id, 0, body(b"abc"))
        assert half.expires_at == NOW + 3600
        done = await engine.append(info.id, 3, body(b"def"))
        assert done.is_complete and done.expires_at is None
        got = await stores.metadata.get(info.id)
        assert got is not None and got.expires_at is None
        made = await engine.create(length=2, body=body(b"ok"))  # creation-with-upload
        assert made.is_complete and made.expires_at is None
    finally:
        await stores.close()
