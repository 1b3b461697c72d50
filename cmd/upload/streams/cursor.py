"""Opaque page cursors and listing validators.

A cursor is the position after which the next page starts: the sequence number of the
last stream listed, bound to its queue. Positions never move and are never reused, so a
cursor stays valid whatever is deleted meanwhile (the next page simply starts after it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib


class BadCursor(ValueError):
    """A cursor this server did not hand out for this queue."""


def _tag(queue: str) -> str:
    return f"{zlib.crc32(queue.encode()):08x}"


def encode(queue: str, seq: int) -> str:
    raw = f"1.{seq}.{_tag(queue)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(queue: str, cursor: str) -> int:
    """The sequence a cursor of `queue` stands for; BadCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("cursor is not one this server handed out") from None
    version, _, rest = raw.partition(".")
    seq, _, tag = rest.partition(".")
    if version != "1" or not seq.isdigit() or len(seq) > 19 or tag != _tag(queue):
        raise BadCursor("cursor is not one this server handed out for this queue")
    return int(seq)


def weak_etag(body: bytes) -> str:
    """A weak validator of a JSON listing: equal for its identity and compressed forms."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match by weak comparison (RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False
