"""Checksum extension: parse `Upload-Checksum`, hash while streaming, compare at the end."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import google_crc32c


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32c:
    """crc32c with the hashlib shape; digest is the 4-byte big-endian checksum."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = google_crc32c.extend(self._value, data)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


ALGORITHMS: dict[str, Callable[[], Hasher]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "crc32c": _Crc32c,
}

ADVERTISED = ",".join(ALGORITHMS)


class ChecksumError(ValueError):
    """Unknown algorithm or malformed digest: a 400, not a 460."""


@dataclass(frozen=True, slots=True)
class Expected:
    algorithm: str
    digest: bytes


def parse_checksum(header: str) -> Expected:
    """`algorithm base64digest` -> Expected; raises ChecksumError."""
    parts = header.strip().split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ChecksumError("Upload-Checksum must be `algorithm base64digest`")
    algorithm = parts[0].lower()
    if algorithm not in ALGORITHMS:
        raise ChecksumError(
            f"checksum algorithm {parts[0]!r} is not supported; use one of {ADVERTISED}"
        )
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ChecksumError("Upload-Checksum digest is not valid base64") from exc
    return Expected(algorithm, digest)


class StreamDigests:
    """Hashes a body as it streams.

    With a header checksum only its algorithm runs. With a trailer announced the
    algorithm is unknown until the end, so every supported one runs (clients that
    choose checksum-trailer pay for it; everyone else does not).
    """

    def __init__(self, algorithms: list[str]) -> None:
        self._hashers = {name: ALGORITHMS[name]() for name in algorithms}
        self._single = next(iter(self._hashers.values())) if len(self._hashers) == 1 else None

    def update(self, data: bytes) -> None:
        if self._single is not None:
            self._single.update(data)
            return
        for hasher in self._hashers.values():
            hasher.update(data)

    def matches(self, expected: Expected) -> bool:
        hasher = self._hashers.get(expected.algorithm)
        return hasher is not None and hasher.digest() == expected.digest
