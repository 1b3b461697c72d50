"""Upload ids become file names, so only a safe alphabet may ever reach a path."""

from __future__ import annotations

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
