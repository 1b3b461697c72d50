"""The client's address as a proxy reports it (only trusted with --behind-proxy)."""

from __future__ import annotations

_ADDRESS_CHARS = frozenset("0123456789abcdefABCDEF:.[]_-")


def _address(value: str) -> str:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    return value if value and len(value) <= 64 and set(value) <= _ADDRESS_CHARS else ""


def forwarded_for(headers: list[tuple[bytes, bytes]]) -> str:
    """The client address the nearest proxy reports (`Forwarded: for=`, else the first
    `X-Forwarded-For`), or '' when absent or not an address (nothing else reaches a log)."""
    xff = ""
    for name, value in headers:
        if name == b"forwarded":
            for part in value.decode("latin-1").split(",")[0].split(";"):
                key, _, v = part.strip().partition("=")
                if key.lower() == "for":
                    return _address(v)
        elif name == b"x-forwarded-for" and not xff:
            xff = _address(value.decode("latin-1").split(",")[0])
    return xff
