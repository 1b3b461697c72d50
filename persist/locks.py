"""One writer per upload: an in-process locker and a cross-process file locker.

Release requests (after tusd): a request that wants a held lock first asks the holder to
let go by calling the `on_release_request` the holder registered; a PATCH reacts by
stopping its body, committing what arrived and releasing. Then the waiter waits up to
`timeout` and raises LockTimeout. Callbacks may be called more than once per hold and
must be cheap and idempotent (set a flag or an Event).

Across processes (`FileLocker`), the lock is `flock` on `<data_dir>/.locks/<id>.lock`,
tried non-blocking every `poll_interval` (a blocking flock would stall the event loop
or pin a thread per waiter). A waiter asks the holder by creating `<id>.release`; the
holder polls for that file every `poll_interval` while it holds the lock. Files beat
signals or sockets here: they need no registry of holder pids, work for any process
sharing the directory, and cost one stat per held lock per poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from .ids import check_id
from .protocols import HeldLock, LockTimeout, Release, ReleaseRequest

log = logging.getLogger(__name__)
_T = TypeVar("_T")

LOCK_DIR = ".locks"


def _ask(callback: ReleaseRequest | None, upload_id: str, kind: Release) -> None:
    """Call a holder's release request; its bugs must not break the waiter."""
    if callback is None:
        return
    try:
        callback(kind)
    except Exception:
        log.exception("release request callback for %s failed", upload_id)


async def poll_for_lock(
    try_take: Callable[[], Awaitable[object]],
    ask_holder: Callable[[], Awaitable[object]] | None,
    *,
    deadline: float,
    poll_interval: float,
    ask_interval: float,
    what: str,
) -> None:
    """Try to take a shared lock until `deadline`, asking its holder to let go every
    `ask_interval` (the holder may only just be listening; None: never ask);
    LockTimeout(`what`)."""
    next_ask = 0.0
    while True:
        if await try_take():
            return
        now = time.monotonic()
        if ask_holder is not None and now >= next_ask:
            await ask_holder()
            next_ask = now + ask_interval
        remaining = deadline - now
        if remaining <= 0:
            raise LockTimeout(what)
        await asyncio.sleep(min(poll_interval, remaining))


class SharedLocker(Generic[_T]):
    """Skeleton of a locker shared by instances (Redis, PostgreSQL): tasks of this process
    queue on a ProcessLocker first, so one task per id talks to the shared service and
    same-process release requests are direct calls; then `_take` gets the shared lock and
    `_hold` wraps it."""

    def __init__(self) -> None:
        self._local = ProcessLocker()

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_request: ReleaseRequest,
        ask: Release | None = Release.STOP,
    ) -> HeldLock:
        deadline = time.monotonic() + timeout
        await self._listen()
        local = await self._local.acquire(
            upload_id, timeout=timeout, on_release_request=on_release_request, ask=ask
        )
        try:
            taken = await self._take(upload_id, deadline, ask)
        except BaseException:
            await local.release()
            raise
        return self._hold(upload_id, taken, local, on_release_request)

    async def _listen(self) -> None:
        """Start receiving release requests (once)."""
        raise NotImplementedError

    async def _take(self, upload_id: str, deadline: float, ask: Release | None) -> _T:
        raise NotImplementedError

    def _hold(
        self, upload_id: str, taken: _T, local: HeldLock, on_release_request: ReleaseRequest
    ) -> HeldLock:
        raise NotImplementedError


@dataclass(slots=True)
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    on_release: ReleaseRequest | None = None
    users: int = 0  # holder + waiters; the slot is dropped when it reaches 0


class ProcessLocker:
    """Locker for tasks of one process (one event loop)."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_request: ReleaseRequest,
        ask: Release | None = Release.STOP,
    ) -> HeldLock:
        slot = self._slots.get(upload_id)
        if slot is None:
            slot = self._slots[upload_id] = _Slot()
        slot.users += 1
        try:
            if ask is not None and slot.lock.locked():
                _ask(slot.on_release, upload_id, ask)
            try:
                await asyncio.wait_for(slot.lock.acquire(), max(timeout, 0.0))
            except TimeoutError:
                raise LockTimeout(f"lock on {upload_id} not released in {timeout}s") from None
        except BaseException:
            self._drop(upload_id, slot)
            raise
        slot.on_release = on_release_request
        return _ProcessHeld(self, upload_id, slot)

    def _release(self, upload_id: str, slot: _Slot) -> None:
        slot.on_release = None
        slot.lock.release()
        self._drop(upload_id, slot)

    def _drop(self, upload_id: str, slot: _Slot) -> None:
        slot.users -= 1
        if slot.users == 0 and self._slots.get(upload_id) is slot:
            del self._slots[upload_id]

    async def busy(self, upload_id: str) -> bool:
        """Held (or awaited) by a task of this process."""
        slot = self._slots.get(upload_id)
        return slot is not None and slot.lock.locked()

    def held(self) -> int:
        """How many ids have a holder or waiters (tests check nothing leaks)."""
        return len(self._slots)

    async def close(self) -> None:
        """Nothing to free: held locks die with their holders' tasks."""


class _ProcessHeld:
    def __init__(self, locker: ProcessLocker, upload_id: str, slot: _Slot) -> None:
        self._locker = locker
        self._id = upload_id
        self._slot: _Slot | None = slot

    def still_held(self) -> bool:
        return self._slot is not None  # in-process: nobody can take it from us

    async def release(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            self._locker._release(self._id, slot)


class FileLocker:
    """Locker across processes sharing `data_dir` (flock), and across tasks within one."""

    def __init__(self, data_dir: str | os.PathLike[str], *, poll_interval: float = 0.05) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.dir = Path(data_dir) / LOCK_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self._dir_str = str(self.dir)
        self.poll_interval = poll_interval
        self._local = ProcessLocker()
        self._held: set[_FileHeld] = set()

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        name = check_id(upload_id)
        return self.dir / f"{name}.lock", self.dir / f"{name}.release"

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_request: ReleaseRequest,
        ask: Release | None = Release.STOP,
    ) -> HeldLock:
        lock_path, release_path = self._paths(upload_id)
        deadline = time.monotonic() + timeout
        local = await self._local.acquire(
            upload_id, timeout=timeout, on_release_request=on_release_request, ask=ask
        )
        try:
            fd = await self._flock(upload_id, lock_path, release_path, deadline, ask)
        except BaseException:
            await local.release()
            raise
        # Requests made before we got here were answered by the previous holder.
        with contextlib.suppress(FileNotFoundError):
            release_path.unlink()
        held = _FileHeld(self, upload_id, fd, lock_path, release_path, local)
        held.watch(on_release_request)
        self._held.add(held)
        return held

    async def _flock(
        self,
        upload_id: str,
        lock_path: Path,
        release_path: Path,
        deadline: float,
        ask: Release | None,
    ) -> int:
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
            else:
                if _same_file(fd, lock_path):
                    return fd
                os.close(fd)  # the holder unlinked it while we waited: lock the new one
                continue
            if ask is not None:
                _request_release(release_path, ask)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if ask is not None:
                    with contextlib.suppress(FileNotFoundError):
                        release_path.unlink()
                raise LockTimeout(f"lock on {upload_id} not released in time (other process)")
            await asyncio.sleep(min(self.poll_interval, remaining))

    async def busy(self, upload_id: str) -> bool:
        """Held here, or a lock file exists (holders unlink it on release): one stat.

        On every HEAD, so no Path objects: a string join and `os.path.exists`."""
        if await self._local.busy(upload_id):
            return True
        return os.path.exists(f"{self._dir_str}/{check_id(upload_id)}.lock")

    async def close(self) -> None:
        """Let go of every lock still held (shutdown)."""
        for held in list(self._held):
            await held.release()


def _request_release(path: Path, kind: Release) -> None:
    """Leave `kind` in the holder's release file, unless a stronger one is there."""
    try:
        present = Release(path.read_text())
    except (FileNotFoundError, ValueError):
        present = None
    if present is None or kind.strength > present.strength:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{id(kind)}")
        tmp.write_text(kind.value)
        os.replace(tmp, path)  # atomic: the holder never reads a half-written kind


def _take_release(path: Path) -> Release | None:
    """The kind a waiter left, removing it; None when there is none."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    try:
        return Release(text)
    except ValueError:
        return Release.STOP  # an older server's empty file: its only meaning was "stop"


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino)


class _FileHeld:
    def __init__(
        self,
        locker: FileLocker,
        upload_id: str,
        fd: int,
        lock_path: Path,
        release_path: Path,
        local: HeldLock,
    ) -> None:
        self._locker = locker
        self._id = upload_id
        self._fd: int | None = fd
        self._lock_path = lock_path
        self._release_path = release_path
        self._local = local
        self._watcher: asyncio.Task[None] | None = None

    def watch(self, on_release_request: ReleaseRequest) -> None:
        self._watcher = asyncio.get_running_loop().create_task(
            self._watch(on_release_request), name=f"lock-release-watch-{self._id}"
        )

    async def _watch(self, on_release_request: ReleaseRequest) -> None:
        """Poll for `<id>.release` from a waiting process while the lock is held."""
        while True:
            await asyncio.sleep(self._locker.poll_interval)
            kind = _take_release(self._release_path)
            if kind is not None:
                _ask(on_release_request, self._id, kind)

    def still_held(self) -> bool:
        return self._fd is not None  # flock lasts as long as the descriptor

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        self._locker._held.discard(self)
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        try:
            # Unlink while still locked so lock files do not pile up; late openers of
            # the old inode notice (_same_file) and retry on the new path.
            with contextlib.suppress(FileNotFoundError):
                self._lock_path.unlink()
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            await self._local.release()
