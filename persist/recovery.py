"""Start-up recovery: make every active record agree with the bytes actually stored.

Bytes are made durable before the offset is recorded, so after a crash a data file can
be longer than its record (flushed but uncommitted bytes: cut back to the offset) and,
only with `--fsync never|interval` after an OS crash, shorter (lower the offset to what
survived; the client resumes from there, the bytes it gets back are a true prefix).
Data files with no active record are orphans (a crash between creating the file and
the record, or between a tombstone and deleting its bytes) and are removed; files with
no record at all only after a grace period, since `create` writes the file first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from .composer import StoreComposer
from .model import UploadInfo, UploadState
from .protocols import LockTimeout

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecoveryReport:
    checked: int = 0
    truncated: list[str] = field(default_factory=list)  # file cut back to the offset
    lowered: list[str] = field(default_factory=list)  # offset lowered to the file size
    orphans: list[str] = field(default_factory=list)  # data files removed
    busy: list[str] = field(default_factory=list)  # locked elsewhere, left alone


async def recover(
    composer: StoreComposer,
    *,
    now: float | None = None,
    orphan_grace: float = 3600.0,
    lock_timeout: float = 1.0,
) -> RecoveryReport:
    """Reconcile offsets with `durable_size`, then remove orphans; run before serving."""
    now = time.time() if now is None else now
    report = RecoveryReport()
    ids = [info.id async for info in composer.metadata.all_active()]
    for upload_id in ids:
        await _reconcile(composer, upload_id, now, lock_timeout, report)
    await _remove_orphans(composer, now, orphan_grace, report)
    if report.truncated or report.lowered or report.orphans:
        log.warning(
            "recovery: %d cut back, %d offsets lowered, %d orphans removed",
            len(report.truncated),
            len(report.lowered),
            len(report.orphans),
        )
    return report


async def _reconcile(
    composer: StoreComposer, upload_id: str, now: float, timeout: float, report: RecoveryReport
) -> None:
    try:
        async with composer.active_locked(upload_id, timeout) as info:
            if info is None:
                return
            report.checked += 1
            size = await composer.byte_store.durable_size(info)
            if size > info.offset:
                # Opening a writer cuts leftovers beyond the recorded offset; discard keeps it.
                writer = await composer.byte_store.open_writer(info)
                await writer.discard()
                report.truncated.append(upload_id)
            elif size < info.offset:
                await composer.metadata.save(info.replace(offset=size, updated_at=now))
                report.lowered.append(upload_id)
    except LockTimeout:
        report.busy.append(upload_id)


async def _remove_orphans(
    composer: StoreComposer, now: float, grace: float, report: RecoveryReport
) -> None:
    if composer.inventory is None or composer.terminator is None:
        return
    for upload_id, modified in await composer.inventory.stored_ids():
        info = await composer.metadata.get(upload_id)
        if info is not None and info.state is UploadState.ACTIVE:
            continue
        if info is None and now - modified < grace:
            continue  # maybe a create in progress: its record is about to be written
        await composer.terminator.delete(info or UploadInfo(id=upload_id, length=None))
        report.orphans.append(upload_id)
