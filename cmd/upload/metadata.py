"""Strict `Upload-Metadata` parsing: malformed input is rejected, never half-accepted."""

from __future__ import annotations

import base64
import binascii
import re

# A key is ASCII without spaces and commas (tus 1.0.0, Upload-Metadata).
_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")


class MetadataError(ValueError):
    """The header does not follow `key base64,key base64,...`."""


def parse_metadata(header: str | None) -> tuple[tuple[str, str], ...]:
    """Pairs (key, base64 value) in the client's order; '' when a key has no value.

    Values stay encoded (stores keep them as sent); each is checked to be valid
    base64 so it can always be decoded later.
    """
    if header is None or header.strip() == "":
        return ()
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in header.split(","):
        item = raw.strip(" ")
        if not item:
            raise MetadataError("Upload-Metadata contains an empty pair")
        parts = item.split(" ")
        if len(parts) > 2:
            raise MetadataError(f"Upload-Metadata pair {item!r} has more than one space")
        key = parts[0]
        value = parts[1] if len(parts) == 2 else ""
        if not _KEY.match(key):
            raise MetadataError(f"Upload-Metadata key {key!r} is empty or not printable ASCII")
        if key in seen:
            raise MetadataError(f"Upload-Metadata key {key!r} appears twice")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MetadataError(f"Upload-Metadata value of {key!r} is not valid base64") from exc
        seen.add(key)
        pairs.append((key, value))
    return tuple(pairs)


def format_metadata(pairs: tuple[tuple[str, str], ...]) -> str | None:
    """The header value for HEAD: rebuilt from validated pairs, never the raw input."""
    if not pairs:
        return None
    return ",".join(f"{k} {v}" if v else k for k, v in pairs)


def decoded_value(pairs: tuple[tuple[str, str], ...], key: str) -> str | None:
    """A value decoded as UTF-8 (replacement characters for bad bytes), or None."""
    for k, v in pairs:
        if k == key:
            return base64.b64decode(v).decode("utf-8", errors="replace")
    return None
