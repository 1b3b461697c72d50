from __future__ import annotations

import base64
import hashlib

import google_crc32c
import pytest

from tuskit.upload.engine.digests import ALGORITHMS, StreamDigests
from tuskit.upload.engine.errors import InvalidRequest
from tuskit.upload.tus.checksum import parse_checksum


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512"])
def test_hashlib_algorithms_match_streamed_digest(name: str) -> None:
    data = b"hello tus" * 1000
    expected = parse_checksum(f"{name} {b64(hashlib.new(name, data).digest())}")
    digests = StreamDigests([name])
    for i in range(0, len(data), 777):
        digests.update(data[i : i + 777])
    assert digests.matches(expected)
    assert not digests.matches(parse_checksum(f"{name} {b64(b'x' * 4)}"))


def test_crc32c_digest_is_four_big_endian_bytes() -> None:
    data = b"123456789"
    value = google_crc32c.value(data)
    assert value == 0xE3069283
    digests = StreamDigests(["crc32c"])
    digests.update(data)
    assert digests.matches(parse_checksum(f"crc32c {b64(value.to_bytes(4, 'big'))}"))


def test_trailer_mode_runs_every_algorithm() -> None:
    digests = StreamDigests(list(ALGORITHMS))
    digests.update(b"abc")
    assert digests.matches(parse_checksum(f"sha256 {b64(hashlib.sha256(b'abc').digest())}"))
    assert digests.matches(parse_checksum(f"md5 {b64(hashlib.md5(b'abc').digest())}"))


@pytest.mark.parametrize("header", ["sha3 AAAA", "sha1", "sha1 not-base64!", "", "sha1  AAAA"])
def test_bad_headers_are_400_material(header: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_checksum(header)
