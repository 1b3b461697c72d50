"""FileLocker passes the locker contract, also against a second real OS process."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist.locks import FileLocker
from tuskit.persist.protocols import LockTimeout

from .persist_contract import LockerContract, new_id

pytestmark = pytest.mark.anyio

CHILD = Path(__file__).with_name("lock_child.py")


@pytest.fixture
async def locker(tmp_path: Path) -> AsyncIterator[FileLocker]:
    locker = FileLocker(tmp_path, poll_interval=0.02)
    yield locker
    await locker.close()


class Child:
    """The lock_child.py process, read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, data_dir: Path, upload_id: str, mode: str, seconds: float) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), str(data_dir), upload_id, mode, str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(proc)

    async def line(self, timeout: float = 10) -> str:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        return raw.decode().strip()

    async def finish(self) -> list[str]:
        assert self.proc.stdout is not None
        out = await asyncio.wait_for(self.proc.stdout.read(), 10)
        assert await self.proc.wait() == 0
        return out.decode().split()


class TestFileLocker(LockerContract):
    async def test_other_process_is_asked_and_lets_go(self, tmp_path: Path) -> None:
        uid = new_id("x")
        child = await Child.start(tmp_path, uid, "hold", 20)
        assert await child.line() == "held"
        locker = FileLocker(tmp_path, poll_interval=0.02)
        start = time.monotonic()
        held = await locker.acquire(uid, timeout=5, on_release_request=lambda _: None)
        assert time.monotonic() - start < 4  # released on request, not after 20 s
        assert await child.finish() == ["asked:stop", "released"]
        await held.release()
        assert not list((tmp_path / ".locks").iterdir())  # no lock or request files left

    async def test_timeout_when_other_process_ignores(self, tmp_path: Path) -> None:
        uid = new_id("x")
        child = await Child.start(tmp_path, uid, "ignore", 1.5)
        assert await child.line() == "held"
        locker = FileLocker(tmp_path, poll_interval=0.02)
        with pytest.raises(LockTimeout):
            await locker.acquire(uid, timeout=0.4, on_release_request=lambda _: None)
        assert await child.line() == "asked:stop"
        # Once the holder lets go the lock is free again.
        held = await locker.acquire(uid, timeout=5, on_release_request=lambda _: None)
        assert "released" in await child.finish()
        await held.release()

    async def test_other_process_cannot_take_held_lock(self, tmp_path: Path) -> None:
        uid = new_id("x")
        asked = asyncio.Event()
        locker = FileLocker(tmp_path, poll_interval=0.02)
        held = await locker.acquire(uid, timeout=1, on_release_request=lambda _: asked.set())
        child = await Child.start(tmp_path, uid, "try", 0.5)
        assert await child.finish() == ["timeout"]
        assert asked.is_set(), "the waiting process's release request never arrived"
        await held.release()
        child = await Child.start(tmp_path, uid, "try", 2)
        assert await child.finish() == ["acquired"]

    async def test_unsafe_ids_rejected(self, locker: FileLocker) -> None:
        for bad in ("../x", "/etc/passwd", "a/b", "a\x00b"):
            with pytest.raises(ValueError):
                await locker.acquire(bad, timeout=0.1, on_release_request=lambda _: None)
