"""Upload ids become file names, so only a safe alphabet may ever reach a path."""

from __future__ import annotations

import os
import re

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_safe_id(upload_id: str) -> bool:
    """True for 1-128 chars of [A-Za-z0-9_-]: no separators, dots, NUL or empty names."""
    return _SAFE_ID.fullmatch(upload_id) is not None


def check_id(upload_id: str) -> str:
    """Return `upload_id` unchanged, or raise ValueError before it can name a path."""
    if not isinstance(upload_id, str) or not is_safe_id(upload_id):
        raise ValueError(f"unsafe upload id {upload_id!r}: expected [A-Za-z0-9_-]{{1,128}}")
    return upload_id


class RandomIds:
    """128-bit random hex ids from the OS's CSPRNG, read 256 ids at a time.

    One `getrandom` per id is a syscall on the event loop for every created upload (and a
    GIL hand-off to whichever I/O thread wants it); a pooled read gives the same bytes.
    A forked child drops the parent's pool, so two processes never hand out the same id.
    """

    BATCH = 256

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool = b""
        self._next = 0

    def new(self) -> str:
        if self._next >= len(self._pool):
            self._pool = os.urandom(16 * self.BATCH)
            self._next = 0
        start = self._next
        self._next = start + 16
        return self._pool[start : start + 16].hex()


new_id = RandomIds().new
