"""Recovery beside a serving server: streamed, bounded in memory, and only what is owed.

Start-up used to lock, read and stat every record and list every data file before the
first request (680 s and 361 MB with a million records). Now the orphan sweep and, only
after a reboot under a relaxed fsync policy, the walk over every record run as a task.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import tracemalloc
from pathlib import Path

import pytest

from tuskit.persist import BackgroundRecovery, StoreComposer, UploadInfo, UploadState, open_local
from tuskit.persist.recovery import RecoveryReport, recover, remove_orphans
from tuskit.persist.runmark import MARK, DurabilityMark

pytestmark = pytest.mark.anyio
NOW = 1_000_000.0


async def new(c: StoreComposer, upload_id: str, data: bytes, length: int = 100) -> UploadInfo:
    info = UploadInfo(id=upload_id, length=length)
    await c.byte_store.create(info)
    writer = await c.byte_store.open_writer(info)
    await writer.write(data)
    info = info.replace(offset=await writer.commit())
    await c.metadata.create(info)
    return info


def old_file(path: Path, data: bytes = b"x") -> None:
    path.write_bytes(data)
    os.utime(path, (NOW - 7200, NOW - 7200))


async def test_background_pass_removes_orphans_and_walks_only_when_owed(tmp_path: Path) -> None:
    c = open_local(tmp_path, fsync="never")
    try:
        await new(c, "ok", b"fine")
        await new(c, "shorter", b"0123456789")
        os.truncate(tmp_path / "shorter", 3)  # an OS crash took bytes
        dead = await new(c, "dead", b"bytes")
        await c.metadata.mark(dead.id, UploadState.TERMINATED, NOW)  # crash before delete
        old_file(tmp_path / "orphan")

        quick = BackgroundRecovery(c, walk=False, clock=lambda: NOW, pause=0)
        quick.start()
        report = await quick.wait()
        assert sorted(report.orphans) == ["dead", "orphan"]
        assert report.checked == 0 and report.lowered == []  # no walk: the writer will fix it
        got = await c.metadata.get("shorter")
        assert got is not None and got.offset == 10

        walked: list[bool] = []
        full = BackgroundRecovery(
            c, walk=True, clock=lambda: NOW, pause=0, on_walked=lambda: walked.append(True)
        )
        full.start()
        report = await full.wait()
        assert report.lowered == ["shorter"] and report.checked == 2 and walked == [True]
        got = await c.metadata.get("shorter")
        assert got is not None and got.offset == 3 and got.updated_at == NOW
    finally:
        await c.close()


async def test_one_process_per_data_dir_recovers(tmp_path: Path) -> None:
    """Workers and servers sharing a data dir: whoever holds the flock does the pass; the
    others skip it rather than repeat it."""
    c = open_local(tmp_path)
    lock = tmp_path / ".state" / "recovery.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        old_file(tmp_path / "orphan")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process is recovering
        other = BackgroundRecovery(c, walk=True, lock_path=lock, clock=lambda: NOW)
        other.start()
        assert (await other.wait()).scanned == 0 and other.skipped
        assert (tmp_path / "orphan").exists()
        fcntl.flock(fd, fcntl.LOCK_UN)
        mine = BackgroundRecovery(c, walk=False, lock_path=lock, clock=lambda: NOW)
        mine.start()
        assert (await mine.wait()).orphans == ["orphan"] and not mine.skipped
    finally:
        os.close(fd)
        await c.close()


async def test_stop_cancels_a_pass_midway(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    try:
        for i in range(30):
            old_file(tmp_path / f"orphan{i:02d}")
        slow = BackgroundRecovery(c, walk=False, batch=5, pause=0.5, clock=lambda: NOW)
        slow.start()
        await asyncio.sleep(0.1)
        await slow.stop()  # promptly, not after 6 pauses
        assert 0 < slow.report.counts["orphans"] < 30
    finally:
        await c.close()


async def test_orphan_sweep_memory_stays_one_batch(tmp_path: Path) -> None:
    """20,000 data files, all but a few with active records: the old pass held a list of
    every active id and every (file, mtime) pair (~5 MB here, 361 MB at a million); the
    sweep and the walk now hold one batch at a time."""
    c = open_local(tmp_path, fsync="never")
    try:
        db = c.metadata._db  # type: ignore[attr-defined]  # bulk insert: seconds, not minutes
        db.execute("BEGIN")
        for i in range(20_000):
            uid = f"{i:032x}"
            (tmp_path / uid).write_bytes(b"")
            db.execute(
                "INSERT INTO uploads VALUES (?, 'active', 10, 0, '[]', 0, NULL, 1, 1, NULL, '[]')",
                (uid,),
            )
        db.execute("COMMIT")
        await recover(c, now=NOW)  # warm-up: one-off growth (the interpreter's intern table)
        old_file(tmp_path / "orphan")
        tracemalloc.start()
        try:
            report = await recover(c, now=NOW)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert report.orphans == ["orphan"] and report.checked == 20_000
        assert report.scanned == 20_001
        # ~0.6 MB alone, up to ~2.4 MB when other tests left threads allocating; the old pass: ~7 MB
        assert peak < 4_000_000, f"peak {peak} bytes"
    finally:
        await c.close()


async def test_report_keeps_counts_exact_and_ids_bounded(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    try:
        for i in range(1005):
            old_file(tmp_path / f"o{i:04d}")
        report = RecoveryReport()
        await remove_orphans(c, report, clock=lambda: NOW, batch=100)
        assert report.counts["orphans"] == 1005 and len(report.orphans) == 1000
        assert "1005 orphans removed" in report.summary()
    finally:
        await c.close()


def test_a_walk_is_owed_only_after_a_reboot_under_a_relaxed_policy(tmp_path: Path) -> None:
    def start(boot: str, relaxed: bool) -> bool:
        mark = DurabilityMark(tmp_path, boot_id=boot, pid=7, alive=lambda pid: False)
        owed = mark.begin_run(relaxed)
        mark.end_run()
        return owed.walk

    assert start("boot-1", relaxed=False) is False  # new data dir, fsync patch
    assert start("boot-1", relaxed=True) is False  # same boot: the page cache is intact
    assert start("boot-1", relaxed=False) is False  # patch now, but relaxed earlier ...
    assert start("boot-2", relaxed=False) is True  # ... so a reboot owes a walk
    assert start("boot-2", relaxed=False) is True  # until one completes
    DurabilityMark(tmp_path, boot_id="boot-2").walk_done()
    assert start("boot-2", relaxed=False) is False
    assert start("boot-3", relaxed=False) is False  # fsync patch all along: nothing owed


def test_a_sweep_is_owed_only_after_a_run_that_did_not_stop_cleanly(tmp_path: Path) -> None:
    live = {11}

    def mark(pid: int, boot: str = "b") -> DurabilityMark:
        return DurabilityMark(tmp_path, boot_id=boot, pid=pid, alive=lambda p: p in live)

    first = mark(10)
    assert first.begin_run(relaxed=False).sweep is True  # no history: sweep once
    first.sweep_done()
    first.end_run()
    assert mark(10).begin_run(relaxed=False).sweep is False  # clean stop: nothing owed
    mark(10).end_run()
    sibling = mark(11)
    assert sibling.begin_run(relaxed=False).sweep is False  # a live worker beside us
    assert mark(12).begin_run(relaxed=False).sweep is False
    live.clear()  # 11 and 12 die without stopping cleanly (kill -9)
    assert mark(13).begin_run(relaxed=False).sweep is True
    assert mark(14).begin_run(relaxed=False).sweep is True  # still owed until done ...
    mark(14).sweep_done()
    live.update({13, 14})
    assert mark(15).begin_run(relaxed=False).sweep is False  # ... and then not
    for pid in (13, 14, 15):
        mark(pid).end_run()
    # A container restarts with the same pid: its predecessor's marker means a crash.
    assert mark(20).begin_run(relaxed=False).sweep is False
    assert mark(20).begin_run(relaxed=False).sweep is True
    mark(20).sweep_done()
    mark(20).end_run()
    # Markers of another boot: every process of that boot is gone.
    DurabilityMark(tmp_path, boot_id="old", pid=30).begin_run(relaxed=False)
    assert mark(31).begin_run(relaxed=False).sweep is True


def test_a_data_dir_from_before_marks_walks_once_if_relaxed(tmp_path: Path) -> None:
    assert DurabilityMark(tmp_path / "a", boot_id="b").begin_run(relaxed=True).walk is True
    assert DurabilityMark(tmp_path / "b", boot_id="b").begin_run(relaxed=False).walk is False
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / MARK).write_text("not json")  # unreadable: as if absent
    owed = DurabilityMark(tmp_path / "c", boot_id="b").begin_run(relaxed=True)
    assert owed.walk is True and owed.sweep is True


async def test_nothing_owed_means_nothing_done(tmp_path: Path) -> None:
    c = open_local(tmp_path)
    stopped: list[bool] = []
    try:
        old_file(tmp_path / "orphan")
        idle = BackgroundRecovery(
            c,
            walk=False,
            sweep=False,
            clock=lambda: NOW,
            on_clean_stop=lambda: stopped.append(True),
        )
        idle.start()
        report = await idle.wait()
        assert report.scanned == 0 and (tmp_path / "orphan").exists()
        await idle.stop()
        assert stopped == [True]
    finally:
        await c.close()
