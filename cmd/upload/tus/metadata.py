"""`Upload-Metadata`: strict parsing into the engine's plain mapping, and back for HEAD.

The header is `key base64,key base64,...`; malformed input is rejected, never half
accepted. Values are decoded here, once, so stores and hooks see text, and encoded
again only when HEAD echoes them.
"""

from __future__ import annotations

import base64
import binascii
import re

# A key is ASCII without spaces and commas (tus 1.0.0, Upload-Metadata).
_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")


class MetadataError(ValueError):
    """The header does not follow `key base64,key base64,...`."""


def parse_metadata(header: str | None) -> tuple[tuple[str, str], ...]:
    """Pairs (key, decoded value) in the client's order; '' when a key has no value.

    Every value must be valid base64 of UTF-8 text (what tus-js-client, Uppy and tuspy
    send), so the engine, its stores and hooks deal in text only.
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
        encoded = parts[1] if len(parts) == 2 else ""
        if not _KEY.match(key):
            raise MetadataError(f"Upload-Metadata key {key!r} is empty or not printable ASCII")
        if key in seen:
            raise MetadataError(f"Upload-Metadata key {key!r} appears twice")
        try:
            value = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise MetadataError(
                f"Upload-Metadata value of {key!r} is not valid base64 of UTF-8 text"
            ) from exc
        seen.add(key)
        pairs.append((key, value))
    return tuple(pairs)


def format_metadata(pairs: tuple[tuple[str, str], ...]) -> str | None:
    """The header value for HEAD: rebuilt from the stored pairs, never the raw input."""
    if not pairs:
        return None
    return ",".join(f"{k} {_b64(v)}" if v else k for k, v in pairs)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")
