"""Recovery after a crash, without keeping clients out: what can disagree, and who fixes it.

Bytes are made durable before the offset that covers them is recorded. So after kill -9,
or any crash under `--fsync patch`, a data file can only be *longer* than its record
(bytes flushed but never committed). Nothing has to happen at start-up for that: the next
writer cuts them (`FileByteStore.open_writer`), and reads never go past the offset.

A file *shorter* than its record takes an OS crash under `--fsync never|interval` (or
bytes removed behind the server's back). Two things handle it:
- lazily, for the uploads clients come back to: a writer that finds fewer bytes than the
  record raises `BytesMissing`, the engine lowers the offset and answers with it (409),
  and the client resumes from there;
- a walk over every active record (`reconcile`), in the background and only when the
  machine went down since a run with a relaxed policy (`runmark`), so downloads and
  concatenations of uploads nobody writes to again are right too.

Orphans, data files with no active record (a crash between writing the first bytes and
creating the record, or between a tombstone and deleting its bytes), cost disk space
only; the background sweep (`remove_orphans`) removes them, after a run that did not stop
cleanly (`runmark`). Files with no record at all are left alone for a grace period,
since creation-with-upload writes bytes first.

Everything streams, pages of records and batches of file names, so memory stays flat
with a million uploads; the file system is read by worker threads, and the event loop
is given back between batches. Start-up no longer waits for any of it: the old pass
(lock, read and stat every record, then list every file, before serving) took 680 s and
361 MB with a million records.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .composer import StoreComposer
from .model import UploadInfo, UploadState
from .protocols import ByteStore, LockTimeout, MetadataStore, SizeProbe, StateLookup

log = logging.getLogger(__name__)
_T = TypeVar("_T")

BATCH = 500  # records or file names per step
NAMED = 1000  # ids a report keeps per kind; its counts are exact
DONE = "recovery: done"  # logged when a background pass ends (the benchmark waits for it)


@dataclass(slots=True)
class RecoveryReport:
    """What a recovery pass found; the id lists hold the first `NAMED` of each kind."""

    checked: int = 0  # active records compared with their bytes
    scanned: int = 0  # stored objects looked at for orphans
    truncated: list[str] = field(default_factory=list)  # file cut back to the offset
    lowered: list[str] = field(default_factory=list)  # offset lowered to the file size
    orphans: list[str] = field(default_factory=list)  # data files removed
    busy: list[str] = field(default_factory=list)  # locked by a writer, which reconciles
    counts: Counter[str] = field(default_factory=Counter)

    def note(self, kind: str, upload_id: str) -> None:
        self.counts[kind] += 1
        ids: list[str] = getattr(self, kind)
        if len(ids) < NAMED:
            ids.append(upload_id)

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.checked} records checked, {self.scanned} files scanned; "
            f"{c['truncated']} cut back, {c['lowered']} offsets lowered, "
            f"{c['orphans']} orphans removed, {c['busy']} busy"
        )


async def recover(
    composer: StoreComposer,
    *,
    now: float | None = None,
    orphan_grace: float = 3600.0,
    lock_timeout: float = 1.0,
) -> RecoveryReport:
    """Both passes, now: reconcile every active record, then remove orphans (tests,
    tools; the server runs them in the background with `BackgroundRecovery`)."""
    at = time.time() if now is None else now
    report = RecoveryReport()
    await reconcile(composer, report, now=at, lock_timeout=lock_timeout)
    await remove_orphans(composer, report, clock=lambda: at, grace=orphan_grace)
    _log_found(report)
    return report


async def reconcile(
    composer: StoreComposer,
    report: RecoveryReport,
    *,
    now: float,
    lock_timeout: float = 1.0,
    batch: int = BATCH,
    pause: float = 0.0,
) -> None:
    """Compare every active record with its stored size, a page at a time (one thread
    hop for a page's sizes); lock and fix only those that disagree."""
    page: list[UploadInfo] = []
    async with _closing(composer.metadata.all_active()) as records:
        async for info in records:
            page.append(info)
            if len(page) >= batch:
                await _reconcile_page(composer, page, now, lock_timeout, report)
                page = []
                await asyncio.sleep(pause)
    if page:
        await _reconcile_page(composer, page, now, lock_timeout, report)


async def _reconcile_page(
    composer: StoreComposer,
    page: list[UploadInfo],
    now: float,
    timeout: float,
    report: RecoveryReport,
) -> None:
    report.checked += len(page)
    sizes = await _sizes(composer.byte_store, page)
    for info, size in zip(page, sizes, strict=True):
        if size != info.offset:
            await _reconcile(composer, info.id, now, timeout, report)


async def _sizes(store: ByteStore, infos: Sequence[UploadInfo]) -> list[int]:
    if isinstance(store, SizeProbe):
        return await store.durable_sizes(infos)
    return [await store.durable_size(info) for info in infos]


async def _reconcile(
    composer: StoreComposer, upload_id: str, now: float, timeout: float, report: RecoveryReport
) -> None:
    """Under the upload's lock, re-read and fix: a writer may have moved it meanwhile."""
    try:
        async with composer.active_locked(upload_id, timeout) as info:
            if info is None:
                return
            size = await composer.byte_store.durable_size(info)
            if size > info.offset:
                # Opening a writer cuts leftovers beyond the recorded offset; discard keeps it.
                writer = await composer.byte_store.open_writer(info)
                await writer.discard()
                report.note("truncated", upload_id)
            elif size < info.offset:
                await composer.metadata.save(info.replace(offset=size, updated_at=now))
                report.note("lowered", upload_id)
    except LockTimeout:
        report.note("busy", upload_id)


async def remove_orphans(
    composer: StoreComposer,
    report: RecoveryReport,
    *,
    clock: Callable[[], float] = time.time,
    grace: float = 3600.0,
    batch: int = BATCH,
    pause: float = 0.0,
) -> None:
    """Delete stored objects without an active record, one listed batch at a time (one
    state query per batch); objects with no record at all only once older than `grace`."""
    inventory, terminator = composer.inventory, composer.terminator
    if inventory is None or terminator is None:
        return
    async with _closing(inventory.stored(batch)) as batches:
        async for names in batches:
            report.scanned += len(names)
            states = await _states(composer.metadata, names)
            for upload_id in names:
                state = states.get(upload_id)
                if state is UploadState.ACTIVE:
                    continue
                if state is None:
                    modified = await inventory.last_modified(upload_id)
                    if modified is None or clock() - modified < grace:
                        continue  # maybe a creation in progress: its record comes next
                info = await composer.metadata.get(upload_id)
                if info is not None and info.state is UploadState.ACTIVE:
                    continue  # recorded since the batch's query
                await terminator.delete(info or UploadInfo(id=upload_id, length=None))
                report.note("orphans", upload_id)
            await asyncio.sleep(pause)


@contextlib.asynccontextmanager
async def _closing(items: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close a store's async generator when the pass ends early (a stop cancels it), so
    a directory stream or a page query is not left for the garbage collector."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)  # generators have it; any iterator may not
        if aclose is not None:
            await aclose()


async def _states(metadata: MetadataStore, ids: list[str]) -> dict[str, UploadState]:
    if isinstance(metadata, StateLookup):
        return await metadata.states(ids)
    found: dict[str, UploadState] = {}
    for upload_id in ids:
        info = await metadata.get(upload_id)
        if info is not None:
            found[upload_id] = info.state
    return found


def _log_found(report: RecoveryReport) -> None:
    c = report.counts
    if c["truncated"] or c["lowered"] or c["orphans"]:
        log.warning("recovery: %s", report.summary())


class BackgroundRecovery:
    """Recovery as an asyncio task beside a serving server (`start`, then `stop`).

    `walk=True` reconciles every record first (owed after a reboot under a relaxed fsync
    policy), `sweep=True` removes orphans (owed after a run that did not stop cleanly);
    `runmark` says which are owed, and `on_walked` / `on_swept` hear when one completed,
    `on_clean_stop` when `stop` ends the run. With `lock_path`, a process that cannot
    take that file's flock at once skips the pass: another worker or server on the same
    data dir is doing it. Between batches the task sleeps `pause` seconds, so requests
    keep most of the event loop.
    """

    def __init__(
        self,
        composer: StoreComposer,
        *,
        walk: bool,
        sweep: bool = True,
        lock_path: Path | None = None,
        on_walked: Callable[[], None] | None = None,
        on_swept: Callable[[], None] | None = None,
        on_clean_stop: Callable[[], None] | None = None,
        orphan_grace: float = 3600.0,
        lock_timeout: float = 1.0,
        batch: int = BATCH,
        pause: float = 0.002,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.composer = composer
        self.walk = walk
        self.sweep = sweep
        self.lock_path = lock_path
        self.on_walked = on_walked
        self.on_swept = on_swept
        self.on_clean_stop = on_clean_stop
        self.orphan_grace = orphan_grace
        self.lock_timeout = lock_timeout
        self.batch = batch
        self.pause = pause
        self.clock = clock
        self.report = RecoveryReport()
        self.skipped = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="recovery")

    async def wait(self) -> RecoveryReport:
        """The report once the pass has ended (for tests and tools)."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.report

    async def stop(self) -> None:
        """Cancel a pass still running (what it did not finish stays owed), then report a
        clean stop."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.on_clean_stop is not None:
            self.on_clean_stop()

    async def _run(self) -> None:
        started = time.monotonic()
        if not (self.walk or self.sweep):
            log.info("%s: nothing owed (the last run stopped cleanly)", DONE)
            return
        fd = await asyncio.to_thread(_try_flock, self.lock_path) if self.lock_path else None
        if self.lock_path is not None and fd is None:
            self.skipped = True
            log.info("%s: another process on this data dir is recovering it", DONE)
            return
        try:
            await self._passes()
        except Exception:  # a failed pass must not take the server down
            log.exception("recovery failed; it runs again at the next start")
            return
        finally:
            if fd is not None:
                os.close(fd)  # releases the flock
        _log_found(self.report)
        log.info("%s in %.1f s: %s", DONE, time.monotonic() - started, self.report.summary())

    async def _passes(self) -> None:
        if self.walk:
            await reconcile(
                self.composer,
                self.report,
                now=self.clock(),
                lock_timeout=self.lock_timeout,
                batch=self.batch,
                pause=self.pause,
            )
            if self.on_walked is not None:
                self.on_walked()
        if self.sweep:
            await remove_orphans(
                self.composer,
                self.report,
                clock=self.clock,
                grace=self.orphan_grace,
                batch=self.batch,
                pause=self.pause,
            )
            if self.on_swept is not None:
                self.on_swept()


def _try_flock(path: Path) -> int | None:
    """An open descriptor holding `path`'s exclusive flock, or None if another has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
