"""The draft's structured fields (RFC 9651) and RFC 9530's digest fields, parsed with
`http_sf` (a maintained parser) and never with ad-hoc string handling.

The draft's rule for every field it defines: a value that is not of the expected type
"MUST cause the entire header field to be ignored". So each reader returns None (or an
empty mapping) for a malformed or ill-typed value, and the caller treats the field as
absent; whether an absent field is then an error is the caller's decision.
"""

from __future__ import annotations

from collections.abc import Mapping

import http_sf

DIGEST_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}
"""RFC 9530 names (the active entries of its registry) -> the engine's hashlib names."""
RFC9530_NAMES = {engine: wire for wire, engine in DIGEST_ALGORITHMS.items()}


def _item(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        parsed = http_sf.parse(raw.encode("latin-1"), tltype="item")
    except (http_sf.StructuredFieldError, ValueError, UnicodeEncodeError):
        return None
    return parsed[0] if isinstance(parsed, tuple) else None  # (bare item, parameters)


def non_negative_integer(raw: str | None) -> int | None:
    """`Upload-Offset`, `Upload-Length`, `Upload-Draft-Interop-Version`: an Integer >= 0."""
    value = _item(raw)
    if type(value) is not int or value < 0:  # bool is an int subclass: excluded
        return None
    return value


def boolean(raw: str | None) -> bool | None:
    """`Upload-Complete`: `?1` or `?0`."""
    value = _item(raw)
    return value if type(value) is bool else None


def sf_boolean(value: bool) -> str:
    return "?1" if value else "?0"


def _dictionary(raw: str | None) -> dict[str, object]:
    if raw is None:
        return {}
    try:
        parsed = http_sf.parse(raw.encode("latin-1"), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeEncodeError):
        return {}
    return dict(parsed) if isinstance(parsed, dict) else {}


def digests(raw: str | None) -> dict[str, bytes]:
    """`Content-Digest` / `Repr-Digest`: {hashlib name: digest} for the algorithms this
    server computes; members of other algorithms, and members whose value is not a Byte
    Sequence, are ignored (RFC 9530, 2: unknown algorithms are ignored)."""
    found: dict[str, bytes] = {}
    for key, member in _dictionary(raw).items():
        name = DIGEST_ALGORITHMS.get(key)
        value = member[0] if isinstance(member, tuple) else member
        if name is not None and isinstance(value, bytes):
            found[name] = value
    return found


def wanted(raw: str | None) -> list[str]:
    """`Want-Repr-Digest`: hashlib names this server computes, most preferred first; a
    preference of 0 means "not acceptable" (RFC 9530, 4)."""
    ranked: list[tuple[int, str]] = []
    for key, member in _dictionary(raw).items():
        name = DIGEST_ALGORITHMS.get(key)
        weight = member[0] if isinstance(member, tuple) else member
        if name is not None and type(weight) is int and 0 < weight <= 10:
            ranked.append((weight, name))
    return [name for _, name in sorted(ranked, key=lambda r: -r[0])]


def digest_field(values: Mapping[str, bytes]) -> str:
    """{hashlib name: digest} as a `Repr-Digest` / `Content-Digest` value."""
    return http_sf.ser({RFC9530_NAMES[name]: digest for name, digest in values.items()})


def dictionary_field(members: Mapping[str, int]) -> str:
    """`Upload-Limit`: integer members."""
    return http_sf.ser(dict(members))
