"""A client's file name, checked before it is stored and served back in downloads."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255


def file_name_problems(name: str) -> list[str]:
    """Why `name` is not an acceptable file name (empty when it is): 1-255 bytes of
    UTF-8, not `.` or `..`, no `/`, `\\`, NUL or other control characters."""
    problems: list[str] = []
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return ["must be valid UTF-8 (it holds a lone surrogate)"]
    if size == 0:
        problems.append("must not be empty")
    elif size > MAX_NAME_BYTES:
        problems.append(f"must be at most {MAX_NAME_BYTES} bytes of UTF-8, not {size}")
    if name in (".", ".."):
        problems.append("must not be . or ..")
    if "/" in name or "\\" in name:
        problems.append("must not contain / or \\")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        problems.append("must not contain NUL or other control characters")
    return problems


def content_type_problems(value: str) -> list[str]:
    """A media type is stored as given (downloads decide what is safe to serve as it);
    only its size and control characters are refused."""
    if not value.strip():
        return ["must not be empty"]
    if len(value) > MAX_NAME_BYTES:
        return [f"must be at most {MAX_NAME_BYTES} characters"]
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return ["must not contain control characters"]
    return []
