"""tus checksum and checksum-trailer: verified bodies, 460 on mismatch, nothing kept."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
from urllib.parse import urlsplit

import google_crc32c
import httpx
import pytest

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

OFFSET_STREAM = "application/offset+octet-stream"
ALGORITHMS = ["md5", "sha1", "sha256", "sha512", "crc32c"]


def digest(algorithm: str, data: bytes) -> str:
    if algorithm == "crc32c":
        raw = int(google_crc32c.value(data)).to_bytes(4, "big")
    else:
        raw = hashlib.new(algorithm, data).digest()
    return base64.b64encode(raw).decode()


def offset(http: httpx.Client, url: str) -> int:
    r = http.head(url, headers=TUS)
    assert r.status_code == 200, r.status_code
    return int(r.headers["Upload-Offset"])


def assert_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    body = r.json()
    assert body.get("code") and body.get("message"), body


def test_crc32c_digest_helper_matches_the_known_vector() -> None:
    # RFC 3720 check value for "123456789" is 0xE3069283.
    assert digest("crc32c", b"123456789") == base64.b64encode(bytes.fromhex("e3069283")).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_patch_with_right_checksum_is_accepted(http: httpx.Client, algorithm: str) -> None:
    url = create(http, 11)
    r = patch(
        http, url, 0, b"hello", **{"Upload-Checksum": f"{algorithm} {digest(algorithm, b'hello')}"}
    )
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "5"
    r = patch(
        http,
        url,
        5,
        b" world",
        **{"Upload-Checksum": f"{algorithm} {digest(algorithm, b' world')}"},
    )
    assert r.status_code == 204, r.text
    assert http.get(url).content == b"hello world"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_algorithm_name_is_case_insensitive(http: httpx.Client, algorithm: str) -> None:
    url = create(http, 5)
    header = f"{algorithm.upper()} {digest(algorithm, b'hello')}"
    r = patch(http, url, 0, b"hello", **{"Upload-Checksum": header})
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_creation_with_upload_and_right_checksum(http: httpx.Client, algorithm: str) -> None:
    data = b"first bytes"
    r = http.post(
        "",
        content=data,
        headers={
            **TUS,
            "Upload-Length": "20",
            "Content-Type": OFFSET_STREAM,
            "Upload-Checksum": f"{algorithm} {digest(algorithm, data)}",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    assert offset(http, r.headers["Location"]) == len(data)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_mismatch_is_460_and_discards_the_bytes(http: httpx.Client, algorithm: str) -> None:
    url = create(http, 10)
    assert patch(http, url, 0, b"abc").status_code == 204
    r = patch(
        http, url, 3, b"defg", **{"Upload-Checksum": f"{algorithm} {digest(algorithm, b'XXXX')}"}
    )
    assert_error(r, 460)
    assert offset(http, url) == 3
    # the same offset takes the right bytes now: nothing of the bad body stayed
    r = patch(
        http, url, 3, b"DEFG", **{"Upload-Checksum": f"{algorithm} {digest(algorithm, b'DEFG')}"}
    )
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "7"
    assert patch(http, url, 7, b"hij").status_code == 204
    assert http.get(url).content == b"abcDEFGhij"


def test_creation_with_upload_and_wrong_checksum_is_460(http: httpx.Client) -> None:
    r = http.post(
        "",
        content=b"hello",
        headers={
            **TUS,
            "Upload-Length": "5",
            "Content-Type": OFFSET_STREAM,
            "Upload-Checksum": f"sha1 {digest('sha1', b'other')}",
        },
    )
    assert_error(r, 460)


def test_digest_of_wrong_size_is_a_mismatch_not_a_success(http: httpx.Client) -> None:
    url = create(http, 5)
    short = base64.b64encode(b"\x00\x01").decode()
    r = patch(http, url, 0, b"hello", **{"Upload-Checksum": f"sha256 {short}"})
    assert r.status_code in (400, 460), r.text
    assert offset(http, url) == 0


@pytest.mark.parametrize("header", ["whirlpool AAAA", "sha3 AAAA", "crc32 AAAAAA=="])
def test_unknown_algorithm_is_400(http: httpx.Client, header: str) -> None:
    url = create(http, 5)
    r = patch(http, url, 0, b"hello", **{"Upload-Checksum": header})
    assert_error(r, 400)
    assert offset(http, url) == 0


@pytest.mark.parametrize(
    "header", ["sha1", "AAAA", "sha1 not*base64!", "sha1 a b", "sha1 AAA", "sha1\tAAAA"]
)
def test_malformed_checksum_header_is_400(http: httpx.Client, header: str) -> None:
    url = create(http, 5)
    r = patch(http, url, 0, b"hello", **{"Upload-Checksum": header})
    assert_error(r, 400)
    assert offset(http, url) == 0


# -- checksum-trailer ------------------------------------------------------------------


def chunked_patch(
    server: UploadServer,
    url: str,
    at: int,
    chunks: list[bytes],
    trailer: str | None,
    announce: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """A chunked PATCH over a raw socket, with `Upload-Checksum` as a trailer."""
    head = [
        f"PATCH {urlsplit(url).path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Tus-Resumable: 1.0.0",
        f"Upload-Offset: {at}",
        f"Content-Type: {OFFSET_STREAM}",
        "Transfer-Encoding: chunked",
        "Connection: close",
    ]
    if announce:
        head.append("Trailer: Upload-Checksum")
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    end = b"0\r\n" + (f"Upload-Checksum: {trailer}\r\n".encode() if trailer else b"") + b"\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body + end)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            content = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            response.close()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_trailer_with_right_checksum_is_204(
    http: httpx.Client, server: UploadServer, algorithm: str
) -> None:
    chunks = [b"hello ", b"chunked ", b"world"]
    data = b"".join(chunks)
    url = create(http, len(data) + 3)
    status, headers, _ = chunked_patch(
        server, url, 0, chunks, f"{algorithm} {digest(algorithm, data)}"
    )
    assert status == 204, (status, headers)
    assert headers["upload-offset"] == str(len(data))
    assert headers.get("tus-resumable") == "1.0.0"
    assert offset(http, url) == len(data)
    assert http.get(url).content == data


def test_trailer_with_wrong_checksum_is_460_and_keeps_nothing(
    http: httpx.Client, server: UploadServer
) -> None:
    url = create(http, 20)
    assert patch(http, url, 0, b"0123").status_code == 204
    chunks = [b"abc", b"def"]
    status, headers, body = chunked_patch(server, url, 4, chunks, f"sha1 {digest('sha1', b'nope')}")
    assert status == 460, (status, headers, body)
    assert headers.get("tus-resumable") == "1.0.0"
    assert offset(http, url) == 4
    assert http.get(url).content == b"0123"
    # and the right trailer at the same offset works afterwards
    status, _, _ = chunked_patch(server, url, 4, chunks, f"sha1 {digest('sha1', b'abcdef')}")
    assert status == 204
    assert http.get(url).content == b"0123abcdef"


def test_trailer_announced_but_missing_keeps_nothing(
    http: httpx.Client, server: UploadServer
) -> None:
    url = create(http, 20)
    status, _, _ = chunked_patch(server, url, 0, [b"abc"], None)
    assert status == 400, status
    assert offset(http, url) == 0


def test_chunked_patch_without_checksum_keeps_the_bytes(
    http: httpx.Client, server: UploadServer
) -> None:
    url = create(http, 20)
    status, headers, _ = chunked_patch(server, url, 0, [b"abc", b"def"], None, announce=False)
    assert status == 204, status
    assert headers["upload-offset"] == "6"
    assert http.get(url).content == b"abcdef"
