"""Digests computed while a body streams, compared with the one the client promised.

Protocols name algorithms their own way (tus `sha256`, RFC 9530 `sha-256`); the engine
uses hashlib's names and each adapter translates.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Expected:
    """The digest a client promised: an algorithm of `ALGORITHMS` and its raw bytes."""

    algorithm: str
    digest: bytes


class StreamDigests:
    """Hashes a body as it streams.

    With a digest known up front only its algorithm runs. With one promised for the end
    of the body (a trailer) the algorithm is unknown until then, so every algorithm the
    protocol accepts runs (clients that choose trailers pay for it; nobody else does).
    """

    def __init__(self, algorithms: list[str] | tuple[str, ...]) -> None:
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


ExpectedDigest = Callable[[], Expected]
"""Asked once the body ended (trailers are known); raises an EngineError when the promise
cannot be read (a malformed or missing trailer)."""


@dataclass(frozen=True, slots=True)
class Verification:
    """A body's promised digest: which algorithms to run, and how to learn the value."""

    algorithms: tuple[str, ...]
    expected: ExpectedDigest

    @classmethod
    def known(cls, expected: Expected) -> Verification:
        """The digest was given before the body (a header)."""
        return cls((expected.algorithm,), lambda: expected)

    def digests(self) -> StreamDigests:
        return StreamDigests(self.algorithms)
