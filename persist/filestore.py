"""Upload bytes on the local disk: one append-only data file per upload, `<data_dir>/<id>`.

Why it looks like this:
- Small PATCH chunks must not cost a thread hop each, so a writer buffers up to
  `buffer_size` bytes; a short body is then written on the event loop and made durable
  by the store's group sync (`groupsync`), a long one goes to O_DIRECT (`directio`).
  Worker threads get the slow calls: direct writes, per-file syncs where there is no
  group sync, reads, unlink and concatenation copies.
- A file is only appended at the offset the metadata store recorded. It is truncated in
  exactly two cases: `discard()` (a checksum mismatch) cuts back to where the writer
  started, and `open_writer` first cuts bytes beyond `info.offset` that a crash left
  behind (flushed but never committed). Concatenation rewrites the final's own file
  from byte 0, so a retried concatenation is idempotent.
- Ids are validated before they name a path (`ids.check_id`): nothing outside
  `data_dir` can be reached, and dot-names (`.state`, `.locks`) never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from .directio import (
    BUFFERS_PER_WRITER,
    DEFAULT_DIRECT_BUFFER,
    DEFAULT_DIRECT_BUFFERS,
    BufferPool,
    DirectAppender,
    finish,
    open_direct,
    pwrite_all,
)
from .directread import DIRECT_READ_MIN, open_direct_read, read_direct
from .dirsync import DirSyncer
from .fsync import PATCH, FsyncPolicy
from .groupsync import GroupSyncer
from .ids import check_id, is_safe_id
from .model import UploadInfo
from .protocols import BytesMissing, StoreError, UploadExists, UploadNotFound

DEFAULT_BUFFER = 2 * 1024 * 1024
READ_CHUNK = 1024 * 1024
_COPY_FALLBACK = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


class FileChunkWriter:
    """One request's bytes for one upload; ends with exactly one `commit` or `discard`.

    - Chunks are kept as a list and written with one `pwritev` per `buffer_size` bytes:
      no userland copy into a staging buffer, and no thread hop per chunk.
    - A body smaller than the buffer is written at commit on the event loop (the file
      created with its first bytes) and made durable by one `syncfs` shared with every
      commit of the same moment (`groupsync`). Without the group sync it takes one
      thread hop: create if new, write, fdatasync, and on the upload's first commit the
      directory too.
    - A body longer than the buffer switches to O_DIRECT (`directio`): aligned buffers
      written by a thread while the loop fills the next, no page cache at all.
    - Where O_DIRECT is refused (tmpfs) or the buffer pool is empty, a long body is synced
      in the background every `SYNC_WINDOW` bytes while the next window arrives, so disk
      writes overlap the network and dirty memory stays bounded even for one multi-GiB
      PATCH. Synced ranges are dropped from the page cache: upload bytes are written
      once, and a page cache that never grows keeps reusing warm memory.
    - Syncing early never moves the durability point: the offset moves only after
      `commit`, which syncs what is left.
    """

    def __init__(self, store: FileByteStore, upload_id: str, fd: int | None, start: int) -> None:
        self._store = store
        self._id = upload_id
        self._path = store.path(upload_id)
        self._fd = fd  # None: the file does not exist yet (created on first flush)
        self._created = False
        self._start = start
        self._pos = start  # end of the bytes already handed to the kernel
        self._synced = start  # end of the bytes already synced and dropped from the cache
        self._syncing: asyncio.Future[None] | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._direct: DirectAppender | None = None
        self._closed = False

    @property
    def written(self) -> int:
        """Bytes accepted since the writer was opened (flushed or still pending)."""
        if self._direct is not None:
            return self._direct.end - self._start
        return self._pos - self._start + self._pending_size

    async def write(self, data: bytes) -> None:
        self._check_open()
        if not data:
            return
        if self._direct is not None:
            await self._direct.write(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= self._store.buffer_size:
            if self._pos == self._start and await self._go_direct():
                return
            self._flush()
            if self._pos - self._synced >= SYNC_WINDOW and self._store.fsync.ever:
                await self._sync_behind()

    async def _go_direct(self) -> bool:
        """Move this (long) body to O_DIRECT, pending chunks first; False to stay buffered."""
        pool = self._store.direct_pool
        if pool is None:
            return False
        buffers = pool.take(BUFFERS_PER_WRITER)
        if not buffers:
            return False
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._created = True
            direct_fd = open_direct(self._path)
        except BaseException:
            pool.give_back(buffers)
            raise
        if direct_fd is None:
            pool.give_back(buffers)
            self._store.direct_pool = None  # this filesystem has no O_DIRECT
            return False
        appender = DirectAppender(pool, buffers, self._fd, direct_fd, self._pos)
        try:
            # Before the switch: a stop that lands in this read leaves the writer buffered
            # with its pending chunks, and no unloaded buffer can ever reach the file.
            await appender.load_head()
        except BaseException:
            appender.close()
            raise
        self._direct = appender
        chunks, self._pending, self._pending_size = self._pending, [], 0
        for chunk in chunks:
            await appender.write(chunk)
        return True

    async def _sync_behind(self) -> None:
        """Start syncing what was written; wait for the previous window first
        (backpressure: at most two windows of dirty pages per upload)."""
        if self._syncing is not None:
            # Shielded: a stop request cancels the body's task here, and the commit that
            # follows must still find this sync running, not cancelled.
            await asyncio.shield(self._syncing)
        start, end = self._synced, self._pos
        self._synced = end
        self._syncing = asyncio.ensure_future(asyncio.to_thread(self._sync_range, start, end))

    def _sync_range(self, start: int, end: int) -> None:
        assert self._fd is not None
        os.fdatasync(self._fd)
        os.posix_fadvise(self._fd, start, end - start, os.POSIX_FADV_DONTNEED)

    async def _settle(self) -> None:
        if self._syncing is not None:
            await finish(self._syncing)
            self._syncing = None
        if self._direct is not None:
            await self._direct.settle()

    async def drain(self) -> None:
        """Wait until no thread is still writing or syncing for this writer."""
        await self._settle()

    async def checkpoint(self) -> int:
        """Make the bytes written so far durable (Checkpointing); returns their end. On
        the direct path the buffer being filled (less than one buffer) stays pending."""
        self._check_open()
        await self._settle()
        if self._direct is not None:
            end = self._direct.flushed_end
        else:
            self._flush()
            end = self._pos
        if end > self._start and self._fd is not None:
            await finish(asyncio.to_thread(self._sync_checkpoint, end))
            self._start = end  # discard keeps what may now be recorded
        return max(end, self._start)

    def _sync_checkpoint(self, end: int) -> None:
        assert self._fd is not None
        os.fdatasync(self._fd)
        if self._direct is None:
            os.posix_fadvise(self._fd, self._synced, end - self._synced, os.POSIX_FADV_DONTNEED)
            self._synced = end
        if self._created:
            self._store.dir_syncer.sync()  # the file's name as durable as its bytes
            self._created = False

    async def commit(self) -> int:
        """Write what is pending and sync per policy; returns the offset. A short body is
        written on the event loop and made durable by a group sync (see groupsync); the
        rest costs one thread hop."""
        self._check_open()
        try:
            await self._settle()
            syncer = self._store.group_syncer
            if syncer is not None and self._direct is None and self._synced == self._start:
                due = self._store.fsync_due(self._id)
                self._write_and_close()
                if due and self._pos != self._start:
                    await finish(syncer.sync())
                    self._store.synced(self._id)
            elif self._pending or self._direct is not None or self._store.fsync_due(self._id):
                await finish(asyncio.to_thread(self._commit))
        except Exception:
            await self._cut_back()
            raise
        finally:
            self._close()
        return self._pos

    async def _cut_back(self) -> None:
        """A failed commit (a full disk, an I/O error) leaves no bytes past where this
        writer started: they would be cut at the next open anyway, and on a full disk the
        space is what every other request needs (the caller holds the upload's lock, or
        the id is not published yet)."""
        if not self._created and self._start == 0 and self._pos == 0:
            return
        with contextlib.suppress(OSError, StoreError):
            await self._settle()
        with contextlib.suppress(OSError):
            await finish(asyncio.to_thread(os.truncate, self._path, self._start))
        self._pos = self._start

    def _write_and_close(self) -> None:
        try:
            self._flush()
        finally:
            self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _commit(self) -> None:
        """In a worker thread; closes the descriptor too (one syscall less on the loop)."""
        try:
            if self._direct is not None:
                self._pos = self._direct.finish_sync()
            self._flush()
            if self._fd is None or not self._store.fsync_due(self._id):
                return
            self._sync_range(self._synced, self._pos)
            self._synced = self._pos
            if self._created or (self._start == 0 and self._pos > 0):
                self._store.dir_syncer.sync()  # the file's name as durable as its bytes
            self._store.synced(self._id)
        finally:
            self._close_fd()

    async def discard(self) -> None:
        """Forget everything written by this writer: cut the file back to its start."""
        self._check_open()
        self._pending.clear()
        self._pending_size = 0
        try:
            with contextlib.suppress(OSError, StoreError):
                await self._settle()
            if self._fd is not None and (self._pos != self._start or self._direct is not None):
                await finish(asyncio.to_thread(os.ftruncate, self._fd, self._start))
            self._pos = self._start
        finally:
            self._close()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._created = True
        chunks, self._pending, self._pending_size = self._pending, [], 0
        pos = self._pos
        try:
            while chunks:
                n = os.pwritev(self._fd, chunks[:_IOV_MAX], pos)
                pos += n
                chunks = _advance(chunks, n)
        finally:
            self._pos = pos  # on error keep what reached the file

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"writer for {self._id} already committed or discarded")

    def _close(self) -> None:
        self._closed = True
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()  # after its last write: the buffers go back to the pool
        if self._syncing is not None and not self._syncing.done():
            return  # the sync thread still uses the descriptor; __del__ closes it
        self._close_fd()

    def __del__(self) -> None:
        # A writer dropped without commit/discard must still not leak its descriptor.
        if self._fd is not None:
            os.close(self._fd)
        if self._direct is not None:
            self._direct.close()


SYNC_WINDOW = 64 * 1024 * 1024
FILELESS_HINTS = 4096


_IOV_MAX = 1024


def _advance(chunks: list[bytes], n: int) -> list[bytes]:
    """The chunks left after `n` bytes of them were written (handles short writes)."""
    i = 0
    while i < len(chunks) and n >= len(chunks[i]):
        n -= len(chunks[i])
        i += 1
    rest = chunks[i:]
    if rest and n:
        rest[0] = rest[0][n:]
    return rest


class FileByteStore:
    """ByteStore + ContentReader + Terminator + Concatenator + Inventory + SizeProbe on
    local files."""

    serves_unfinished = True  # a data file is readable while it grows
    reads_survive_delete = True  # an open descriptor keeps reading after unlink (POSIX)

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        fsync: FsyncPolicy = PATCH,
        *,
        buffer_size: int = DEFAULT_BUFFER,
        direct_buffer: int = DEFAULT_DIRECT_BUFFER,
        direct_buffers: int = DEFAULT_DIRECT_BUFFERS,
        group_sync: bool = True,
    ) -> None:
        """`direct_buffers=0` turns O_DIRECT off (every body through the page cache)."""
        if buffer_size <= 0:
            raise ValueError("buffer_size must be positive")
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.dir_syncer = DirSyncer(self.data_dir)
        self.group_syncer: GroupSyncer | None = (
            GroupSyncer(self.data_dir) if group_sync and GroupSyncer.available() else None
        )
        self.fsync = fsync
        self.buffer_size = buffer_size
        self.direct_pool: BufferPool | None = (
            BufferPool(direct_buffer, direct_buffers) if direct_buffers else None
        )
        self._last_sync: dict[str, float] = {}
        # Recently created here, no file yet: a hint only (forgetting one costs one open).
        self._fileless: dict[str, None] = {}

    def path(self, upload_id: str) -> Path:
        """The data file of `upload_id`; ValueError for any id that is not a safe name."""
        return self.data_dir / check_id(upload_id)

    # fsync bookkeeping (interval policy)
    def fsync_due(self, upload_id: str) -> bool:
        return self.fsync.due(self._last_sync.get(upload_id), time.monotonic())

    def synced(self, upload_id: str) -> None:
        self._last_sync[upload_id] = time.monotonic()

    # ByteStore
    async def create(self, info: UploadInfo) -> tuple[tuple[str, str], ...]:
        """Refuse a name that holds bytes; the file itself appears with the first bytes.

        Creating it here would cost a thread hop per upload (a create modifies the
        directory and may wait on the filesystem journal, so it must not run on the
        event loop); the first commit creates, writes and syncs it in one hop instead.
        """
        if os.path.lexists(self.path(info.id)):
            raise UploadExists(info.id)
        self._fileless[info.id] = None
        if len(self._fileless) > FILELESS_HINTS:
            del self._fileless[next(iter(self._fileless))]  # the oldest
        return ()

    async def open_writer(self, info: UploadInfo) -> FileChunkWriter:
        """Open on the event loop (a few fast syscalls; cheaper than a thread hop). An upload
        this store created and never wrote has no file: nothing to open (creation-with-upload
        then costs no syscall here)."""
        if info.offset == 0 and info.id in self._fileless:
            del self._fileless[info.id]
            return FileChunkWriter(self, info.id, None, 0)
        path = self.path(info.id)
        fd = self._open_at(path, info.offset)
        return FileChunkWriter(self, info.id, fd, info.offset)

    def _open_at(self, path: Path, offset: int) -> int | None:
        """Open for writing at `offset`, cutting crash leftovers beyond it; None when the
        upload has no file yet (offset 0): the writer creates it with its first bytes."""
        try:
            fd = os.open(
                path, os.O_RDWR | os.O_CLOEXEC
            )  # read: a direct write re-reads its first block
        except FileNotFoundError:
            if offset != 0:
                raise BytesMissing(
                    f"data file {path.name} is missing at offset {offset}", durable=0
                ) from None
            return None
        try:
            size = os.fstat(fd).st_size
            if size > offset:
                os.ftruncate(fd, offset)
            elif size < offset:
                raise BytesMissing(
                    f"data file {path.name} holds {size} bytes but the record says {offset}",
                    durable=size,
                )
        except BaseException:
            os.close(fd)
            raise
        return fd

    async def durable_size(self, info: UploadInfo) -> int:
        return (await self.durable_sizes([info]))[0]

    # SizeProbe
    async def durable_sizes(self, infos: Sequence[UploadInfo]) -> list[int]:
        """Sizes of many data files in one worker-thread hop (0 for a missing file)."""
        paths = [self.path(info.id) for info in infos]
        return await asyncio.to_thread(_sizes, paths)

    async def ping(self) -> None:
        """The data dir exists and is writable (one syscall)."""
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise StoreError("the data directory is missing or not writable")

    async def close(self) -> None:
        """Nothing to release: descriptors live no longer than their writer or reader."""

    # ContentReader
    async def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) in ~1 MiB preads in a worker thread; takes no lock. Ranges
        of `DIRECT_READ_MIN` or more bypass the page cache (`directread`). The file is
        opened before the first chunk, so a begun read survives an unlink."""
        if start < 0 or end < start:
            raise ValueError(f"bad range [{start}, {end})")
        if start == end:
            return
        path = self.path(info.id)
        try:
            fd = await asyncio.to_thread(os.open, path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise UploadNotFound(info.id) from None
        try:
            pool = self.direct_pool if end - start >= DIRECT_READ_MIN else None
            buffers = pool.take(1) if pool is not None else []
            if pool is not None and buffers:
                try:
                    # The same inode as `fd`, even if the name went away meanwhile.
                    direct_fd = open_direct_read(f"/proc/self/fd/{fd}")
                    if direct_fd is not None:  # else: no O_DIRECT here, read buffered
                        try:
                            # Closed before the descriptor and the buffer are let go: its
                            # read ahead must be over by then.
                            async with contextlib.aclosing(
                                read_direct(direct_fd, buffers[0], start, end, info.id)
                            ) as chunks:
                                async for chunk in chunks:
                                    yield chunk
                            return
                        finally:
                            os.close(direct_fd)
                finally:
                    pool.give_back(buffers)
            pos = start
            while pos < end:
                chunk = await asyncio.to_thread(os.pread, fd, min(READ_CHUNK, end - pos), pos)
                if not chunk:
                    raise StoreError(f"data file {info.id} ends at {pos}, before {end}")
                pos += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    # Terminator
    async def delete(self, info: UploadInfo) -> None:
        path = self.path(info.id)
        self._last_sync.pop(info.id, None)
        self._fileless.pop(info.id, None)
        await asyncio.to_thread(path.unlink, True)

    # Concatenator
    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        """Copy finished partials, in order, into the final's file (kernel-side copy)."""
        parts: list[tuple[Path, int]] = []
        for p in partials:
            if p.length is None or p.offset != p.length:
                raise StoreError(f"partial upload {p.id} is not complete")
            parts.append((self.path(p.id), p.offset))
        await asyncio.to_thread(self._concatenate, self.path(final.id), parts)

    def _concatenate(self, dst_path: Path, parts: list[tuple[Path, int]]) -> None:
        dst = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            pos = 0
            for src_path, size in parts:
                if size == 0:
                    continue  # an empty upload may have no file at all
                src = os.open(src_path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _copy_range(src, dst, size, pos)
                finally:
                    os.close(src)
                pos += size
            os.ftruncate(dst, pos)
            if self.fsync.ever:
                os.fsync(dst)
                self.dir_syncer.sync()
        finally:
            os.close(dst)

    # Inventory
    async def stored(self, batch: int) -> AsyncIterator[list[str]]:
        """Data file names in batches, each read by a worker thread from one directory
        stream: no stat per file (the directory entry's type says "regular file"), and
        never more than one batch in memory, however many files there are."""
        if batch <= 0:
            raise ValueError("batch must be positive")
        entries = await asyncio.to_thread(os.scandir, self.data_dir)
        try:
            while True:
                names = await asyncio.to_thread(_next_names, entries, batch)
                if names:
                    yield names
                if len(names) < batch:
                    return
        finally:
            entries.close()

    async def last_modified(self, upload_id: str) -> float | None:
        try:
            return (await asyncio.to_thread(os.stat, self.path(upload_id))).st_mtime
        except FileNotFoundError:
            return None


def _next_names(entries: Iterator[os.DirEntry[str]], batch: int) -> list[str]:
    """Up to `batch` upload ids from a directory stream (dot-names and other kinds skipped)."""
    names: list[str] = []
    for entry in entries:
        if is_safe_id(entry.name) and entry.is_file(follow_symlinks=False):
            names.append(entry.name)
            if len(names) >= batch:
                break
    return names


def _sizes(paths: list[Path]) -> list[int]:
    sizes: list[int] = []
    for path in paths:
        try:
            sizes.append(os.stat(path).st_size)
        except FileNotFoundError:
            sizes.append(0)
    return sizes


def _copy_range(src: int, dst: int, size: int, dst_pos: int) -> None:
    """Copy `size` bytes of src (from 0) to dst at `dst_pos`, in the kernel when possible."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dst, size - done, done, dst_pos + done)
            if n == 0:
                break
            done += n
    except OSError as exc:
        if exc.errno not in _COPY_FALLBACK:
            raise
    while done < size:
        chunk = os.pread(src, min(READ_CHUNK, size - done), done)
        if not chunk:
            raise StoreError(f"partial data file ends at {done}, expected {size} bytes")
        pwrite_all(dst, chunk, dst_pos + done)
        done += len(chunk)
