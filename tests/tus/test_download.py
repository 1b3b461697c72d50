"""GET on an upload: exact bytes, ranges, conditional requests, safe content headers."""

from __future__ import annotations

import base64
import os
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

DATA = bytes(range(256)) * 4 + b"tail"  # 1028 bytes
SIZE = len(DATA)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def url(server: UploadServer) -> str:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        u = create(client, SIZE)
        assert patch(client, u, 0, DATA).status_code == 204
    return u


def uploaded(http: httpx.Client, data: bytes, metadata: str | None = None) -> str:
    headers = {"Upload-Metadata": metadata} if metadata else {}
    u = create(http, len(data), **headers)
    assert patch(http, u, 0, data).status_code == 204
    return u


# -- plain GET and ranges --------------------------------------------------------------


def test_get_returns_exact_bytes(http: httpx.Client, url: str) -> None:
    r = http.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.content == DATA
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert r.headers.get("ETag")
    assert r.headers.get("Last-Modified")


def test_get_of_a_larger_upload(http: httpx.Client) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    u = uploaded(http, data)
    r = http.get(u)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(data))
    assert r.content == data


def test_get_of_an_unfinished_upload_returns_what_arrived(http: httpx.Client) -> None:
    u = create(http, 100)
    assert patch(http, u, 0, b"partial").status_code == 204
    r = http.get(u)
    assert r.status_code == 200
    assert r.content == b"partial"


@pytest.mark.parametrize(
    ("range_", "start", "end"),
    [
        ("bytes=10-19", 10, 20),
        ("bytes=-5", SIZE - 5, SIZE),
        ("bytes=5-", 5, SIZE),
        ("bytes=0-0", 0, 1),
        ("bytes=1000-99999", 1000, SIZE),
        ("bytes=-99999", 0, SIZE),
    ],
)
def test_range(http: httpx.Client, url: str, range_: str, start: int, end: int) -> None:
    r = http.get(url, headers={"Range": range_})
    assert r.status_code == 206, (r.status_code, range_)
    assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert r.headers["Content-Length"] == str(end - start)
    assert r.content == DATA[start:end]


@pytest.mark.parametrize("range_", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_is_416(http: httpx.Client, url: str, range_: str) -> None:
    r = http.get(url, headers={"Range": range_})
    assert r.status_code == 416, (r.status_code, range_)
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("range_", ["items=0-5", "bytes=5-2", "bytes=0-1,5-6", "nonsense"])
def test_unsupported_range_serves_the_whole_body(http: httpx.Client, url: str, range_: str) -> None:
    r = http.get(url, headers={"Range": range_})
    assert r.status_code == 200, (r.status_code, range_)
    assert r.content == DATA


# -- conditional requests --------------------------------------------------------------


def test_if_range_with_matching_etag_is_206(http: httpx.Client, url: str) -> None:
    etag = http.get(url).headers["ETag"]
    r = http.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert r.status_code == 206
    assert r.content == DATA[10:20]


def test_if_range_with_stale_validator_is_200(http: httpx.Client, url: str) -> None:
    for stale in ('"0123456789abcdef"', "Sat, 01 Jan 2000 00:00:00 GMT"):
        r = http.get(url, headers={"Range": "bytes=10-19", "If-Range": stale})
        assert r.status_code == 200, stale
        assert r.content == DATA


def test_if_range_with_matching_date_is_206(http: httpx.Client, url: str) -> None:
    last_modified = http.get(url).headers["Last-Modified"]
    r = http.get(url, headers={"Range": "bytes=0-3", "If-Range": last_modified})
    assert r.status_code == 206
    assert r.content == DATA[:4]


def test_if_none_match_with_current_etag_is_304(http: httpx.Client, url: str) -> None:
    etag = http.get(url).headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"'), etag
    r = http.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers.get("ETag") == etag
    r = http.get(url, headers={"If-None-Match": '"other"'})
    assert r.status_code == 200


def test_etag_changes_when_the_upload_grows(http: httpx.Client) -> None:
    u = create(http, 10)
    assert patch(http, u, 0, b"abc").status_code == 204
    before = http.get(u).headers["ETag"]
    assert patch(http, u, 3, b"def").status_code == 204
    after = http.get(u).headers["ETag"]
    assert before != after
    assert http.get(u, headers={"If-None-Match": before}).status_code == 200


def test_if_match_wrong_is_412(http: httpx.Client, url: str) -> None:
    r = http.get(url, headers={"If-Match": '"not-the-etag"'})
    assert r.status_code == 412
    assert r.json().get("code")
    etag = http.get(url).headers["ETag"]
    assert http.get(url, headers={"If-Match": etag}).status_code == 200


def test_if_modified_since_last_modified_is_304(http: httpx.Client, url: str) -> None:
    last_modified = http.get(url).headers["Last-Modified"]
    r = http.get(url, headers={"If-Modified-Since": last_modified})
    assert r.status_code == 304
    r = http.get(url, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert r.status_code == 200


def test_if_unmodified_since_in_the_past_is_412(http: httpx.Client, url: str) -> None:
    r = http.get(url, headers={"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert r.status_code == 412
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert http.get(url, headers={"If-Unmodified-Since": future}).status_code == 200


# -- content headers -------------------------------------------------------------------


def test_inline_safe_filetype_is_served_inline(http: httpx.Client) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    u = uploaded(http, png, f"filetype {b64('image/png')},filename {b64('pic.png')}")
    r = http.get(u)
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith("inline")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.content == png


@pytest.mark.parametrize(
    "filetype", ["text/html", "image/svg+xml", "application/javascript", "text/html; charset=utf-8"]
)
def test_dangerous_filetype_is_an_attachment(http: httpx.Client, filetype: str) -> None:
    u = uploaded(
        http, b"<script>alert(1)</script>", f"filetype {b64(filetype)},filename {b64('page.html')}"
    )
    r = http.get(u)
    assert r.headers["Content-Type"] == "application/octet-stream"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment"), disposition
    assert 'filename="page.html"' in disposition, disposition
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def test_no_metadata_is_an_octet_stream(http: httpx.Client, url: str) -> None:
    r = http.get(url)
    assert r.headers["Content-Type"] == "application/octet-stream"


def test_hostile_filename_is_sanitized(http: httpx.Client) -> None:
    name = 'a"b\r\nX-Evil: 1\r\n;c%d \u00fc.txt'
    u = uploaded(http, b"data", f"filename {b64(name)}")
    r = http.get(u)
    assert r.status_code == 200
    assert "x-evil" not in r.headers
    disposition = r.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition, disposition
    assert disposition.startswith("attachment"), disposition
    assert "filename*=UTF-8''" in disposition, disposition
    assert "%C3%BC" in disposition.upper(), disposition
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert all(0x20 <= ord(ch) < 0x7F for ch in fallback), fallback
    assert disposition.count('"') == 2, disposition
    for raw in r.headers.raw:
        assert b"\r" not in raw[1] and b"\n" not in raw[1]


# -- a GET does not wait for a running PATCH -------------------------------------------


def test_get_during_a_slow_patch_answers_at_once(http: httpx.Client, server: UploadServer) -> None:
    data = os.urandom(1000)
    u = create(http, len(data))
    assert patch(http, u, 0, data[:100]).status_code == 204
    request = (
        f"PATCH {urlsplit(u).path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Tus-Resumable: 1.0.0\r\n"
        "Upload-Offset: 100\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        "Content-Length: 900\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request + data[100:550])
        time.sleep(0.3)  # the PATCH now holds the upload's lock, waiting for more body
        started = time.monotonic()
        r = http.get(u, timeout=4.0)
        elapsed = time.monotonic() - started
        assert r.status_code == 200
        assert elapsed < 2.0, elapsed
        assert len(r.content) >= 100
        assert r.content == data[: len(r.content)]
        head = http.head(u, headers=TUS, timeout=4.0)
        assert head.status_code == 200
    # the client went away after 550 bytes: what arrived is kept
    deadline = time.monotonic() + 5.0
    while http.head(u, headers=TUS).headers["Upload-Offset"] != "550":
        assert time.monotonic() < deadline, http.head(u, headers=TUS).headers
        time.sleep(0.05)
    assert http.get(u).content == data[:550]
