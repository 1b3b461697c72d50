"""The checksum and checksum-trailer extensions: `Upload-Checksum: <algorithm> <base64>`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from ..engine import ALGORITHMS, Expected, Verification
from ..engine.errors import InvalidRequest

ADVERTISED = ",".join(ALGORITHMS)
"""`Tus-Checksum-Algorithm`: tus names the algorithms as hashlib does."""


def parse_checksum(header: str) -> Expected:
    """`algorithm base64digest` -> Expected; InvalidRequest when malformed or unknown."""
    parts = header.strip().split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InvalidRequest("Upload-Checksum must be `algorithm base64digest`")
    algorithm = parts[0].lower()
    if algorithm not in ALGORITHMS:
        raise InvalidRequest(
            f"checksum algorithm {parts[0]!r} is not supported; use one of {ADVERTISED}"
        )
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("Upload-Checksum digest is not valid base64") from exc
    return Expected(algorithm, digest)


def verification(
    header: str | None, trailer: str | None, trailer_value: Callable[[], str | None]
) -> Verification | None:
    """What to verify: the header's checksum, or (when `Trailer: Upload-Checksum` is
    announced) the trailer's, asked of `trailer_value` once the body ended."""
    if header is not None:
        return Verification.known(parse_checksum(header))
    if trailer is None or "upload-checksum" not in trailer.lower():
        return None

    def from_trailer() -> Expected:
        value = trailer_value()
        if value is None:
            raise InvalidRequest(
                "Trailer announced Upload-Checksum but no checksum trailer arrived"
            )
        return parse_checksum(value)

    return Verification(tuple(ALGORITHMS), from_trailer)
