"""Parts on the local disk: every part written in place into one file per assembly,
`<data_dir>/.assemblies/<upload id>`, then linked to the upload's own name.

Why it looks like this:
- One file, each part at its offset: assembly copies nothing. Part sizes are multiples
  of the O_DIRECT block (`part_alignment`), so parallel writers of neighbouring parts
  never share a block and never read-modify-write each other's bytes.
- Long parts go through O_DIRECT from the store's buffer pool (no page cache: see
  `directio`), the rest with `pwritev` in a thread; `commit` syncs per `--fsync`. The
  caller records a part only after `commit`, and un-records it before rewriting it, so
  a part cut short by a crash is simply absent.
- The file lives under a dot-directory, which start-up recovery never scans (it would
  count it an orphan: no upload record exists until assembly). `assemble` hard-links it
  to `<data_dir>/<upload id>` (same inode, no copy) with a fresh mtime; the assembly's
  own name is unlinked only after the upload is recorded (`finish_parts`). So a crash
  anywhere keeps the bytes under at least one name, and a completion retried after it
  finds them: a recovery that removed the not-yet-recorded upload name (an orphan past
  its grace period) leaves the assembly's name, and the link is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from .assembly import StoredPart
from .directio import BLOCK, BUFFERS_PER_WRITER, DirectAppender, finish, open_direct
from .dirsync import DirSyncer
from .filestore import _IOV_MAX, FileByteStore, _advance
from .ids import check_id
from .model import UploadInfo
from .protocols import StoreError

ASSEMBLY_DIR = ".assemblies"
DIRECT_MIN = 1024 * 1024  # shorter parts are not worth two buffers of the pool


class FilePartWriter:
    """Exactly `size` bytes at `start`; commit syncs them, discard just closes."""

    def __init__(self, parts: FileParts, path: Path, fd: int, start: int, size: int) -> None:
        self._parts = parts
        self._path = path
        self._fd: int | None = fd
        self._start = start
        self._size = size
        self._pos = start
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._direct: DirectAppender | None = None
        self._flushing: asyncio.Future[None] | None = None
        self._closed = False

    async def start_direct(self) -> None:
        """Use O_DIRECT when the part is long, aligned and the pool has buffers."""
        pool = self._parts.store.direct_pool
        if pool is None or self._size < DIRECT_MIN or self._start % BLOCK:
            return
        buffers = pool.take(BUFFERS_PER_WRITER)
        if not buffers:
            return
        direct_fd = open_direct(self._path)
        if direct_fd is None:
            pool.give_back(buffers)
            self._parts.store.direct_pool = None  # this filesystem has no O_DIRECT
            return
        assert self._fd is not None
        self._direct = DirectAppender(pool, buffers, self._fd, direct_fd, self._start)

    async def write(self, data: bytes) -> None:
        self._check_open()
        if self._pos + self._pending_size + len(data) > self._start + self._size:
            raise StoreError("a part may not pass its length")
        if self._direct is not None:
            await self._direct.write(data)
            self._pending_size += len(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= self._parts.store.buffer_size:
            await self._flush()

    async def _flush(self) -> None:
        chunks, pos = self._pending, self._pos
        self._pending = []
        self._pos += self._pending_size
        self._pending_size = 0
        await finish(asyncio.to_thread(self._pwritev, chunks, pos))

    def _pwritev(self, chunks: list[bytes], pos: int) -> None:
        assert self._fd is not None
        while chunks:
            n = os.pwritev(self._fd, chunks[:_IOV_MAX], pos)
            pos += n
            chunks = _advance(chunks, n)

    async def commit(self) -> str:
        self._check_open()
        self._closed = True
        try:
            if self._direct is not None:
                await self._direct.settle()
            elif self._pending:
                await self._flush()
            await finish(asyncio.to_thread(self._finish))
        finally:
            self._close()
        return ""

    def _finish(self) -> None:
        """In a thread: the direct writer's last blocks, then the sync."""
        assert self._fd is not None
        if self._direct is not None:
            end = self._direct.finish_sync()
            if end != self._start + self._size:
                raise StoreError(f"part ends at {end}, expected {self._start + self._size}")
        if self._parts.store.fsync.ever:
            os.fdatasync(self._fd)

    async def discard(self) -> None:
        self._check_open()
        self._closed = True
        self._pending = []
        try:
            if self._direct is not None:
                with contextlib.suppress(OSError, StoreError):
                    await self._direct.settle()
        finally:
            self._close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"part writer of {self._path.name} already committed or discarded")

    def _close(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class FileParts:
    """PartStore on a FileByteStore's data directory."""

    min_part_size = BLOCK
    part_alignment = BLOCK
    max_parts: int | None = None

    def __init__(self, store: FileByteStore) -> None:
        self.store = store
        self.dir = store.data_dir / ASSEMBLY_DIR
        self.dir.mkdir(exist_ok=True)
        self._dir_syncer = DirSyncer(self.dir)

    def path(self, upload_id: str) -> Path:
        return self.dir / check_id(upload_id)

    async def begin_parts(self, target: UploadInfo, part_size: int) -> tuple[tuple[str, str], ...]:
        """Create the (empty) file now, its name durable, so parts only ever open it."""
        if part_size % self.part_alignment:
            raise StoreError(f"part size {part_size} is not a multiple of {self.part_alignment}")
        await finish(asyncio.to_thread(self._create, self.path(target.id)))
        return ()

    def _create(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        os.close(fd)
        if self.store.fsync.ever:
            self._dir_syncer.sync()

    async def open_part(
        self, target: UploadInfo, index: int, start: int, size: int
    ) -> FilePartWriter:
        path = self.path(target.id)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise StoreError(f"the parts of {target.id} are gone") from None
        writer = FilePartWriter(self, path, fd, start, size)
        try:
            await writer.start_direct()
        except BaseException:
            await writer.discard()
            raise
        return writer

    async def assemble(self, target: UploadInfo, parts: list[StoredPart]) -> None:
        length = target.length or 0
        await finish(asyncio.to_thread(self._link, self.path(target.id), target.id, length))

    def _link(self, source: Path, upload_id: str, length: int) -> None:
        final = self.store.path(upload_id)
        try:
            size = os.stat(source).st_size
        except FileNotFoundError:
            if os.path.exists(final):
                return  # assembled and finished before: nothing left to do
            raise StoreError(f"the parts of {upload_id} are gone") from None
        if size != length:
            # Parts never write past the length, so a longer file is impossible, and a
            # shorter one means the last part (which ends at the length) is not stored.
            if size > length:
                os.truncate(source, length)
            else:
                raise StoreError(f"the parts of {upload_id} hold {size} of {length} bytes")
        os.utime(source)  # recovery spares upload files younger than its grace period
        try:
            os.link(source, final)
        except FileExistsError:
            if not os.path.samefile(source, final):
                raise StoreError(f"{upload_id} already names other bytes") from None
        if self.store.fsync.ever:
            self.store.dir_syncer.sync()

    async def reopen_parts(self, target: UploadInfo) -> tuple[tuple[str, str], ...]:
        await finish(asyncio.to_thread(self._unlink_assembled, target.id))
        return target.storage

    def _unlink_assembled(self, upload_id: str) -> None:
        """Remove the upload's name if (and only if) it is the assembly's link."""
        final, source = self.store.path(upload_id), self.path(upload_id)
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(final, source):
                final.unlink()

    async def finish_parts(self, target: UploadInfo) -> None:
        await asyncio.to_thread(self.path(target.id).unlink, True)

    async def abandon_parts(self, target: UploadInfo) -> None:
        await finish(asyncio.to_thread(self._abandon, target.id))

    def _abandon(self, upload_id: str) -> None:
        self._unlink_assembled(upload_id)
        self.path(upload_id).unlink(missing_ok=True)
