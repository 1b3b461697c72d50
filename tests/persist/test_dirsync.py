"""DirSyncer: concurrent callers share directory syncs, and none returns before a sync
that started after its call (its file's name must be covered)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tuskit.persist import dirsync
from tuskit.persist.dirsync import DirSyncer


def test_each_caller_is_covered_by_a_sync_that_started_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts: list[float] = []
    ends: list[float] = []

    def slow_sync(path: Path) -> None:
        starts.append(time.monotonic())
        time.sleep(0.005)
        ends.append(time.monotonic())

    monkeypatch.setattr(dirsync, "_fsync_dir", slow_sync)
    syncer = DirSyncer(tmp_path)
    calls: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            called = time.monotonic()
            syncer.sync()
            with lock:
                calls.append((called, time.monotonic()))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(calls) == 320
    assert 1 <= syncer.syncs < 320  # shared: far fewer syncs than calls
    for called, returned in calls:
        assert any(called <= s and e <= returned for s, e in zip(starts, ends, strict=True))


def test_real_directory_sync(tmp_path: Path) -> None:
    syncer = DirSyncer(tmp_path)
    (tmp_path / "f").write_bytes(b"x")
    syncer.sync()
    assert syncer.syncs == 1


def test_a_failed_sync_covers_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def flaky(path: Path) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("EIO")

    monkeypatch.setattr(dirsync, "_fsync_dir", flaky)
    syncer = DirSyncer(tmp_path)
    with pytest.raises(OSError):
        syncer.sync()
    syncer.sync()  # must run its own sync, not count the failed one
    assert (len(attempts), syncer.syncs) == (2, 1)
