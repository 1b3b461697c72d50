"""Digests in the session API: RFC 9530 (`Content-Digest`, the initiate `checksum`) and
RFC 1864 (`Content-MD5`), translated into the engine's `Expected` (hashlib names).

RFC 9530 values are Structured Field dictionaries of byte sequences:
`sha-256=:<base64>:, sha-512=:<base64>:`. Members naming algorithms the server does not
support are ignored; a value naming none it supports, or any malformed member, is refused.
With several supported members, the strongest one is checked.
"""

from __future__ import annotations

import base64
import binascii
import re

from ..engine import Expected

SUPPORTED = {"sha-512": ("sha512", 64), "sha-256": ("sha256", 32)}
"""RFC 9530 name -> (hashlib name, digest bytes), strongest first."""
ADVERTISED = ", ".join(SUPPORTED)

_MEMBER = re.compile(r"^([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/]*={0,2}):(;.*)?$")


class DigestError(ValueError):
    """A digest that is malformed or names no supported algorithm."""


def parse_rfc9530(value: str) -> Expected:
    """The strongest supported digest of an RFC 9530 dictionary; DigestError otherwise."""
    found: dict[str, bytes] = {}
    for raw in value.split(","):
        member = raw.strip()
        match = _MEMBER.match(member)
        if match is None:
            raise DigestError(
                f"{member[:40]!r} is not an RFC 9530 member such as sha-256=:<base64>:"
            )
        name, encoded = match.group(1), match.group(2)
        if name not in SUPPORTED:
            continue
        try:
            digest = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DigestError(f"the {name} value is not valid base64") from exc
        if len(digest) != SUPPORTED[name][1]:
            raise DigestError(f"a {name} digest has {SUPPORTED[name][1]} bytes, not {len(digest)}")
        found[name] = digest
    for name, (algorithm, _) in SUPPORTED.items():
        if name in found:
            return Expected(algorithm, found[name])
    raise DigestError(f"no supported algorithm: use {ADVERTISED}")


def parse_content_md5(value: str) -> Expected:
    """RFC 1864: base64 of the 16-byte MD5 of the body."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DigestError("Content-MD5 is not valid base64") from exc
    if len(digest) != 16:
        raise DigestError(f"Content-MD5 must hold 16 bytes, not {len(digest)}")
    return Expected("md5", digest)
