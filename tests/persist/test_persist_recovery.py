"""Start-up recovery reconciles offsets with stored bytes and removes orphans."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuskit.persist import StoreComposer, UploadInfo, UploadState, open_local, recover
from tuskit.persist.protocols import ContentReader

pytestmark = pytest.mark.anyio
NOW = 1_000_000.0


async def new(c: StoreComposer, upload_id: str, data: bytes, **changes: object) -> UploadInfo:
    info = UploadInfo(id=upload_id, length=100).replace(**changes)
    await c.byte_store.create(info)
    await c.metadata.create(info)
    writer = await c.byte_store.open_writer(info)
    await writer.write(data)
    info = info.replace(offset=await writer.commit())
    await c.metadata.save(info)
    return info


async def content(c: StoreComposer, info: UploadInfo) -> bytes:
    assert isinstance(c.byte_store, ContentReader)
    return b"".join([x async for x in c.byte_store.read(info, 0, info.offset)])


async def test_recovery_cuts_lowers_and_removes_orphans(tmp_path: Path) -> None:
    c = open_local(tmp_path, fsync="never")
    try:
        ok = await new(c, "ok", b"fine")
        longer = await new(c, "longer", b"committed")
        with (tmp_path / "longer").open("ab") as f:  # flushed but never committed
            f.write(b"+garbage")
        shorter = await new(c, "shorter", b"0123456789")
        os.truncate(tmp_path / "shorter", 4)  # lost in an OS crash with fsync=never
        gone = await new(c, "gone", b"abc")
        (tmp_path / "gone").unlink()
        dead = await new(c, "dead", b"bytes")
        await c.metadata.mark("dead", UploadState.TERMINATED, NOW)  # crash before delete
        (tmp_path / "orphan_old").write_bytes(b"x")
        os.utime(tmp_path / "orphan_old", (NOW - 7200, NOW - 7200))
        (tmp_path / "orphan_new").write_bytes(b"x")
        os.utime(tmp_path / "orphan_new", (NOW - 10, NOW - 10))

        report = await recover(c, now=NOW, orphan_grace=3600)

        assert report.checked == 4
        assert report.truncated == ["longer"]
        assert sorted(report.lowered) == ["gone", "shorter"]
        assert sorted(report.orphans) == ["dead", "orphan_old"]
        assert (tmp_path / "longer").read_bytes() == b"committed"
        got = await c.metadata.get("shorter")
        assert got is not None and got.offset == 4 and got.updated_at == NOW
        assert await content(c, got) == b"0123"
        got = await c.metadata.get("gone")
        assert got is not None and got.offset == 0
        assert await c.metadata.get("ok") == ok
        assert await content(c, longer) == b"committed"
        assert not (tmp_path / "dead").exists()
        assert (tmp_path / "orphan_new").exists()
        assert (await c.metadata.get(dead.id)) is not None  # the tombstone stays

        again = await recover(c, now=NOW, orphan_grace=3600)
        assert (again.truncated, again.lowered, again.orphans) == ([], [], [])
        del shorter, gone
    finally:
        await c.close()


async def test_recovery_skips_uploads_locked_elsewhere(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    try:
        await new(c, "busy", b"abc")
        with (tmp_path / "busy").open("ab") as f:
            f.write(b"in-flight")  # a live PATCH's flushed bytes
        held = await c.locker.acquire("busy", timeout=1, on_release_request=lambda _: None)
        report = await recover(c, now=NOW, lock_timeout=0.1)
        assert report.busy == ["busy"] and report.truncated == []
        assert (tmp_path / "busy").read_bytes() == b"abcin-flight"
        await held.release()
    finally:
        await c.close()
