"""O_DIRECT reads for long downloads: the mirror of `directio`'s appends.

Why: long bodies are written with O_DIRECT, so their bytes are never in the page cache,
and a buffered read of them pays for filling it: `dd bs=1M` of a 1 GiB file written with
`oflag=direct` takes ~0.84 s of system time here, the same read with `iflag=direct`
~0.13 s, at the same speed (the disk's, ~600 MB/s). A stream store's reads are its main
traffic, so the difference is most of a download's CPU.

How: a pooled page-aligned buffer (`directio.BufferPool`, shared with the writers) takes
whole blocks from an aligned position; the wanted bytes are copied out in the worker
thread, and the next read starts while the event loop sends the previous chunk. Only
the last read of a file may come back short (end of file). Coherent with writers: the
kernel flushes dirty cached pages of a range before a direct read of it.
The price: readers of the same long file each read the disk, instead of all but the
first finding it cached; short reads (under `DIRECT_READ_MIN`) stay buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
from collections.abc import AsyncGenerator

from .directio import BLOCK
from .protocols import StoreError

DIRECT_READ_MIN = 4 * 1024 * 1024
"""Ranges at least this long are read with O_DIRECT."""

_UNSUPPORTED = {22, 95}  # EINVAL, EOPNOTSUPP


def open_direct_read(path: str | os.PathLike[str]) -> int | None:
    """An O_DIRECT read descriptor, or None where the filesystem refuses O_DIRECT (or
    `path`, e.g. `/proc/self/fd/N`, cannot be opened): the caller reads buffered."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC | flag)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return None
        raise


def _read_chunk(fd: int, buffer: mmap.mmap, pos: int, end: int, name: str) -> bytes:
    """Bytes from `pos` (at most one buffer's worth, not past `end`), read from the
    aligned position below it; in a worker thread."""
    aligned = pos - pos % BLOCK
    want = min(len(buffer), end - aligned)
    want += -want % BLOCK  # whole blocks; the file's end may come first
    with memoryview(buffer) as view:
        got = os.preadv(fd, [view[:want]], aligned)
        take = min(got - (pos - aligned), end - pos)
        if take <= 0:
            raise StoreError(f"data file {name} ends at {aligned + got}, before {end}")
        return bytes(view[pos - aligned : pos - aligned + take])


async def read_direct(
    fd: int, buffer: mmap.mmap, start: int, end: int, name: str = ""
) -> AsyncGenerator[bytes, None]:
    """Bytes [start, end) of the file behind the O_DIRECT descriptor `fd`, in chunks of
    up to `len(buffer)`, one chunk read ahead. The caller owns `fd` and `buffer` and may
    reuse them once the iterator is closed."""
    loop = asyncio.get_running_loop()
    pos = start
    ahead: asyncio.Future[bytes] | None = loop.run_in_executor(
        None, _read_chunk, fd, buffer, pos, end, name
    )
    try:
        while ahead is not None:
            chunk = await ahead
            pos += len(chunk)
            ahead = (
                loop.run_in_executor(None, _read_chunk, fd, buffer, pos, end, name)
                if pos < end
                else None
            )
            yield chunk
    finally:
        if ahead is not None:  # a worker thread still uses the buffer and the descriptor
            with contextlib.suppress(BaseException):
                await asyncio.shield(ahead)
