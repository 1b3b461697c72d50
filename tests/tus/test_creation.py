"""tus creation, creation-with-upload, creation-defer-length, and Location behind a proxy."""

from __future__ import annotations

import base64
import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers import UploadServer, running_server
from tests.tus.conftest import TUS, create, patch

OFFSET_STREAM = "application/offset+octet-stream"
MAX = 64 * 1024 * 1024
ID = re.compile(r"^[0-9a-f]{32,}$")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def upload_files(data_dir: Path) -> set[str]:
    """Names of upload data files (state and lock folders left out)."""
    return {
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if p.is_file() and p.relative_to(data_dir).parts[0] not in (".state", ".locks")
    }


def assert_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    body = r.json()
    assert body.get("code") and body.get("message"), body


# -- creation --------------------------------------------------------------------------


def test_creation_is_201_with_absolute_location(http: httpx.Client, server: UploadServer) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "10"})
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0"
    location = r.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == "http"
    assert parts.netloc == f"127.0.0.1:{server.port}"
    assert parts.path.startswith("/files/")
    assert ID.match(parts.path.removeprefix("/files/")), location
    head = http.head(location, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Length"] == "10"
    assert head.headers["Upload-Offset"] == "0"


def test_two_creations_give_different_ids(http: httpx.Client) -> None:
    a = create(http, 1).rsplit("/", 1)[-1]
    b = create(http, 1).rsplit("/", 1)[-1]
    assert a != b
    assert ID.match(a) and ID.match(b)


def test_zero_length_upload_is_complete_at_once(http: httpx.Client) -> None:
    url = create(http, 0)
    head = http.head(url, headers=TUS)
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == "0"
    assert http.get(url).content == b""


def test_length_above_max_size_is_413_and_creates_nothing(
    http: httpx.Client, data_dir: Path
) -> None:
    before = upload_files(data_dir)
    r = http.post("", headers={**TUS, "Upload-Length": str(MAX + 1)})
    assert_error(r, 413)
    assert "Location" not in r.headers
    assert upload_files(data_dir) == before
    # exactly the maximum is fine
    assert http.post("", headers={**TUS, "Upload-Length": str(MAX)}).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Upload-Length": "5", "Upload-Defer-Length": "1"},
        {"Upload-Defer-Length": "2"},
        {"Upload-Defer-Length": "0"},
        {"Upload-Length": "-1"},
        {"Upload-Length": "ten"},
    ],
    ids=["neither", "both", "defer-2", "defer-0", "negative", "not-a-number"],
)
def test_bad_length_headers_are_400(
    http: httpx.Client, data_dir: Path, headers: dict[str, str]
) -> None:
    before = upload_files(data_dir)
    r = http.post("", headers={**TUS, **headers})
    assert_error(r, 400)
    assert upload_files(data_dir) == before


# -- Upload-Metadata -------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        "filename !!!notbase64",
        "filename aGVsbG8",  # bad padding
        "a YQ==,a Yg==",  # duplicate key
        "a YQ==,,b Yg==",  # empty pair
        "a YQ==,",  # empty trailing pair
        ",a YQ==",  # empty leading pair
        "a YQ== Yg==",  # two values
        "k\u00e9y YQ==",  # non-ASCII key
    ],
    ids=[
        "bad-base64",
        "bad-padding",
        "duplicate",
        "empty-pair",
        "trailing",
        "leading",
        "two",
        "key",
    ],
)
def test_malformed_metadata_is_400(http: httpx.Client, data_dir: Path, metadata: str) -> None:
    before = upload_files(data_dir)
    r = http.post(
        "",
        headers=[
            (b"Tus-Resumable", b"1.0.0"),
            (b"Upload-Length", b"5"),
            (b"Upload-Metadata", metadata.encode("utf-8")),
        ],
    )
    assert_error(r, 400)
    assert upload_files(data_dir) == before


def test_metadata_key_without_value_is_accepted_and_echoed(http: httpx.Client) -> None:
    metadata = f"filename {b64('report.pdf')},is_confidential,empty"
    url = create(http, 5, **{"Upload-Metadata": metadata})
    echoed = http.head(url, headers=TUS).headers["Upload-Metadata"]
    pairs = {}
    for item in echoed.split(","):
        key, _, value = item.strip().partition(" ")
        pairs[key] = value
    assert pairs == {"filename": b64("report.pdf"), "is_confidential": "", "empty": ""}


def test_metadata_values_survive_unchanged(http: httpx.Client) -> None:
    value = b64("ünïcødé name, with comma.txt")
    url = create(http, 5, **{"Upload-Metadata": f"filename {value}"})
    assert http.head(url, headers=TUS).headers["Upload-Metadata"] == f"filename {value}"


# -- creation-with-upload --------------------------------------------------------------


def test_creation_with_upload_stores_the_first_bytes(http: httpx.Client) -> None:
    r = http.post(
        "",
        content=b"hello world",
        headers={**TUS, "Upload-Length": "20", "Content-Type": OFFSET_STREAM},
    )
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == "11"
    url = r.headers["Location"]
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "11"
    r = patch(http, url, 11, b"!!!!!!!!!")
    assert r.status_code == 204
    assert http.get(url).content == b"hello world!!!!!!!!!"


def test_creation_with_upload_of_the_whole_file(http: httpx.Client) -> None:
    data = bytes(range(256)) * 40
    r = http.post(
        "",
        content=data,
        headers={**TUS, "Upload-Length": str(len(data)), "Content-Type": OFFSET_STREAM},
    )
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    assert http.get(r.headers["Location"]).content == data


def test_creation_with_upload_larger_than_length_is_413(http: httpx.Client, data_dir: Path) -> None:
    before = upload_files(data_dir)
    r = http.post(
        "",
        content=b"0123456789",
        headers={**TUS, "Upload-Length": "4", "Content-Type": OFFSET_STREAM},
    )
    assert_error(r, 413)
    assert upload_files(data_dir) == before


def test_creation_with_body_of_another_type_is_415(http: httpx.Client, data_dir: Path) -> None:
    before = upload_files(data_dir)
    r = http.post(
        "",
        content=b"hello",
        headers={**TUS, "Upload-Length": "5", "Content-Type": "text/plain"},
    )
    assert_error(r, 415)
    assert upload_files(data_dir) == before


# -- creation-defer-length -------------------------------------------------------------


def test_defer_length_then_fix_it_with_patch(http: httpx.Client) -> None:
    url = create(http, None, **{"Upload-Defer-Length": "1"})
    head = http.head(url, headers=TUS)
    assert head.headers.get("Upload-Defer-Length") == "1"
    assert "Upload-Length" not in head.headers
    assert head.headers["Upload-Offset"] == "0"

    r = patch(http, url, 0, b"abc")  # length still unknown
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "3"
    assert http.head(url, headers=TUS).headers.get("Upload-Defer-Length") == "1"

    r = patch(http, url, 3, b"def", **{"Upload-Length": "10"})
    assert r.status_code == 204, r.text
    head = http.head(url, headers=TUS)
    assert head.headers["Upload-Length"] == "10"
    assert "Upload-Defer-Length" not in head.headers

    r = patch(http, url, 6, b"gh", **{"Upload-Length": "12"})  # a different length later
    assert_error(r, 400)
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "6"

    r = patch(http, url, 6, b"ghij", **{"Upload-Length": "10"})  # the same length again is fine
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "10"
    assert http.get(url).content == b"abcdefghij"


def test_defer_length_cannot_pass_max_size(http: httpx.Client) -> None:
    url = create(http, None, **{"Upload-Defer-Length": "1"})
    r = patch(http, url, 0, b"a", **{"Upload-Length": str(MAX + 1)})
    assert_error(r, 413)


# -- Location behind a proxy -----------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("proxied")
    with running_server(data, "--behind-proxy") as srv:
        yield srv


def location(server: UploadServer, **headers: str) -> str:
    with httpx.Client(timeout=10.0) as client:
        r = client.post(server.url, headers={**TUS, "Upload-Length": "1", **headers})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def test_behind_proxy_location_uses_forwarded(proxied: UploadServer) -> None:
    url = location(proxied, Forwarded="for=1.2.3.4;host=uploads.example.com;proto=https")
    assert url.startswith("https://uploads.example.com/files/"), url
    assert ID.match(url.rsplit("/", 1)[-1])


def test_behind_proxy_location_uses_x_forwarded(proxied: UploadServer) -> None:
    url = location(
        proxied,
        **{
            "X-Forwarded-Host": "cdn.example.org",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Prefix": "/api",
        },
    )
    assert url.startswith("https://cdn.example.org/api/files/"), url


def test_behind_proxy_location_is_usable_without_proxy_headers(proxied: UploadServer) -> None:
    url = location(proxied)
    assert url.startswith(f"http://127.0.0.1:{proxied.port}/files/"), url
    with httpx.Client(timeout=10.0) as client:
        assert client.head(url, headers=TUS).status_code == 200


def test_default_server_ignores_proxy_headers(server: UploadServer) -> None:
    url = location(
        server,
        Forwarded="host=evil.example;proto=https",
        **{
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Prefix": "/evil",
        },
    )
    assert url.startswith(f"http://127.0.0.1:{server.port}/files/"), url


@pytest.mark.parametrize(
    "value", ["evil.com/x", "evil.com/@other", "evil.com\\", "evil.com?x=1", "evil.com#f"]
)
def test_behind_proxy_rejects_malformed_forwarded_host(proxied: UploadServer, value: str) -> None:
    url = location(proxied, **{"X-Forwarded-Host": value})
    assert "evil" not in url, url
    assert url.startswith(f"http://127.0.0.1:{proxied.port}/files/"), url


def test_behind_proxy_hostile_forwarded_host_with_crlf_never_reaches_location(
    proxied: UploadServer,
) -> None:
    request = (
        "POST /files/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{proxied.port}\r\n"
        "Tus-Resumable: 1.0.0\r\n"
        "Upload-Length: 1\r\n"
        "X-Forwarded-Host: evil.com/\r\nx\r\n"
        "Content-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", proxied.port), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            response.read()
            headers = response.getheaders()
            status = response.status
        finally:
            response.close()
    assert status in (201, 400), status
    for name, value in headers:
        assert "evil" not in value.lower(), (name, value)
        assert name.lower() not in ("x",), headers
    if status == 201:
        url = dict((k.lower(), v) for k, v in headers)["location"]
        assert url.startswith(f"http://127.0.0.1:{proxied.port}/files/"), url
