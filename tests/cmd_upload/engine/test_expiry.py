"""Expiry sweeps: unfinished expired uploads lose their bytes and become tombstones."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tuskit.persist import StoreComposer, UploadInfo, UploadState, open_local
from tuskit.upload.engine.expiry import Sweeper, sweep_expired

pytestmark = pytest.mark.anyio
NOW = 1_000_000.0


async def new(c: StoreComposer, upload_id: str, **changes: object) -> UploadInfo:
    """A recorded upload whose file exists (the file store creates it with the first byte)."""
    info = UploadInfo(id=upload_id, length=10).replace(**changes)
    await c.byte_store.create(info)
    writer = await c.byte_store.open_writer(info)
    await writer.write(b"x")
    info = info.replace(offset=await writer.commit())
    await c.metadata.create(info)
    return info


async def test_sweep_expires_and_purges(tmp_path: Path) -> None:
    c = open_local(tmp_path, fsync="never")
    try:
        await new(c, "due", expires_at=NOW - 1)
        await new(c, "later", expires_at=NOW + 60)
        await new(c, "done", expires_at=NOW - 1, length=1)
        await new(c, "forever")
        await new(c, "oldtomb")
        await c.metadata.mark("oldtomb", UploadState.TERMINATED, NOW - 8 * 86400)

        report = await sweep_expired(c, NOW, tombstone_ttl=7 * 86400)

        assert report.expired == ["due"]
        assert report.purged == 1
        got = await c.metadata.get("due")
        assert got is not None and got.state is UploadState.EXPIRED and got.updated_at == NOW
        assert not (tmp_path / "due").exists()
        for alive in ("later", "done", "forever"):
            rec = await c.metadata.get(alive)
            assert rec is not None and rec.state is UploadState.ACTIVE
            assert (tmp_path / alive).exists()
        assert await c.metadata.get("oldtomb") is None
        # The fresh tombstone is purged only after its ttl.
        assert (await sweep_expired(c, NOW + 10, tombstone_ttl=100)).purged == 0
        assert (await sweep_expired(c, NOW + 101, tombstone_ttl=100)).purged == 1
    finally:
        await c.close()


async def test_sweep_leaves_busy_uploads_for_next_time(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    try:
        for i in range(3):
            await new(c, f"u{i}", expires_at=NOW - 1)
        held = await c.locker.acquire("u1", timeout=1, on_release_request=lambda _: None)
        report = await sweep_expired(c, NOW, batch=2, lock_timeout=0.05)
        assert sorted(report.expired) == ["u0", "u2"] and report.busy == ["u1"]
        await held.release()
        assert (await sweep_expired(c, NOW)).expired == ["u1"]
    finally:
        await c.close()


async def test_periodic_sweeper_runs_until_stopped(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    clock = [NOW]
    sweeper = Sweeper(c, interval=0.02, clock=lambda: clock[0])
    try:
        await new(c, "soon", expires_at=NOW + 5)
        sweeper.start()
        await asyncio.sleep(0.1)
        assert sweeper.runs >= 2
        rec = await c.metadata.get("soon")
        assert rec is not None and rec.state is UploadState.ACTIVE
        clock[0] = NOW + 10
        for _ in range(100):
            rec = await c.metadata.get("soon")
            if rec is not None and rec.state is UploadState.EXPIRED:
                break
            await asyncio.sleep(0.01)
        assert rec is not None and rec.state is UploadState.EXPIRED
        await sweeper.stop()
        runs = sweeper.runs
        await asyncio.sleep(0.06)
        assert sweeper.runs == runs
    finally:
        await sweeper.stop()
        await c.close()
