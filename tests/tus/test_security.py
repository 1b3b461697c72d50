"""Hostile input: unguessable ids, no header injection, no path traversal, nothing outside data."""

from __future__ import annotations

import base64
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

OFFSET_STREAM = "application/offset+octet-stream"
ID = re.compile(r"^[0-9a-f]{32}$")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def raw_get(server: UploadServer, url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """GET over a raw socket, so the header block is seen exactly as sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET {urlsplit(url).path} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        assert b"\n" not in line and b"\r" not in line, line
        name, sep, value = line.partition(b":")
        assert sep, f"header line without a colon: {line!r}"
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return status, headers, body


def test_hundred_ids_are_distinct_and_128_bit_hex(http: httpx.Client) -> None:
    ids = [create(http, 1).rsplit("/", 1)[-1] for _ in range(100)]
    assert len(set(ids)) == 100
    for upload_id in ids:
        assert ID.match(upload_id), upload_id


@pytest.mark.parametrize("key", ["filename", "filetype", "name", "x-custom"])
def test_crlf_in_metadata_never_becomes_a_response_header(
    http: httpx.Client, server: UploadServer, key: str
) -> None:
    hostile = "text/plain\r\nX-Injected: yes\r\nSet-Cookie: a=b\r\n\r\n<html>"
    url = create(http, 4, **{"Upload-Metadata": f"{key} {b64(hostile)}"})
    assert patch(http, url, 0, b"data").status_code == 204
    status, headers, body = raw_get(server, url)
    assert status == 200
    names = {n.lower() for n, _ in headers}
    assert "x-injected" not in names and "set-cookie" not in names, headers
    assert body == b"data"
    # HEAD echoes the metadata still encoded, never decoded
    head = http.head(url, headers=TUS)
    assert head.headers["Upload-Metadata"] == f"{key} {b64(hostile)}"
    assert "x-injected" not in head.headers


@pytest.mark.parametrize(
    "path",
    ["..%2F.state", "..%2F.state%2Fuploads.sqlite3", ".state", ".locks", "..%2F..%2Fetc%2Fpasswd"],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "PATCH", "DELETE"])
def test_path_traversal_ids_are_404(server: UploadServer, method: str, path: str) -> None:
    headers = {**TUS, "Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
    with httpx.Client(timeout=10.0) as client:
        r = client.request(
            method, server.url + path, headers=headers, content=b"x" if method == "PATCH" else None
        )
    assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
    assert b"SQLite" not in r.content


def _outside(data_dir: Path) -> set[str]:
    """Everything under data_dir's parent but outside data_dir (server logs left out)."""
    root = data_dir.parent
    found = set()
    for p in root.rglob("*"):
        if p == data_dir or data_dir in p.parents:
            continue
        if p.name.startswith("server-") and p.name.endswith(".log"):
            continue
        found.add(str(p.relative_to(root)))
    return found


def test_nothing_is_created_outside_the_data_dir(
    http: httpx.Client, server: UploadServer, data_dir: Path
) -> None:
    before = _outside(data_dir)
    url = create(http, 4, **{"Upload-Metadata": f"filename {b64('../../escape.txt')}"})
    assert patch(http, url, 0, b"data").status_code == 204
    assert http.get(url).status_code == 200
    with httpx.Client(timeout=10.0) as client:
        for path in ("..%2Fescape", "..%2F..%2Fescape2", "%2E%2E%2Fescape3"):
            headers = {**TUS, "Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
            client.patch(server.url + path, content=b"x", headers=headers)
            client.delete(server.url + path, headers=TUS)
        client.post(
            server.url,
            headers={**TUS, "Upload-Concat": "final;/files/..%2F..%2Fescape4 /files/../x"},
        )
    assert _outside(data_dir) == before
    for p in data_dir.rglob("*"):
        assert "escape" not in p.name, p


def test_upload_length_overflow_is_400_or_413(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "9" * 40})
    assert r.status_code in (400, 413), r.status_code
    assert r.json().get("code")


def test_error_bodies_do_not_leak_paths(http: httpx.Client, data_dir: Path) -> None:
    url = create(http, 3)
    responses = [
        patch(http, url, 7, b"abc"),
        http.post("", headers={**TUS, "Upload-Concat": "final;/files/nope"}),
        http.head(url + "x", headers=TUS),
        http.delete(url + "zz", headers=TUS),
    ]
    for r in responses:
        assert str(data_dir) not in r.text, r.text
        assert "Traceback" not in r.text, r.text
