"""The stream store's contract (seed 002's curl transcripts), on every store setup:
store with POST or PUT, read back with GET / HEAD (Range, conditions, safe types),
delete; every error is the seed's JSON envelope with the right status."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import time
import uuid

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import MAX_SIZE, error_of, store
from .setups import Setup

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_post_answers_201_with_the_seed_body(http: httpx.Client) -> None:
    response = http.post(
        "/streams",
        content=b"some data",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["id", "status"] and body["status"] == "created"
    assert UUID4.match(body["id"])
    assert response.headers["location"] == f"/v1/streams/{body['id']}"
    assert int(response.headers["content-length"]) == len(response.content)
    got = http.get(f"/streams/{body['id']}")
    assert got.status_code == 200 and got.content == b"some data"


def test_put_stores_a_new_stream_each_time(http: httpx.Client) -> None:
    ids = []
    for _ in range(2):
        response = http.put("/streams", content=b"file body")
        assert response.status_code == 201
        assert list(response.json()) == ["id", "status"]
        ids.append(response.json()["id"])
    assert ids[0] != ids[1]
    assert all(http.get(f"/streams/{i}").content == b"file body" for i in ids)


def test_a_chunked_body_is_stored_whole(http: httpx.Client) -> None:
    data = os.urandom(6 * 1024 * 1024 + 3)

    def chunks() -> object:
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    response = http.post("/streams", content=chunks())  # no Content-Length: chunked
    assert response.status_code == 201, response.text
    got = http.get(f"/streams/{response.json()['id']}")
    assert got.headers["content-length"] == str(len(data))
    assert got.content == data


def test_an_empty_body_is_an_empty_stream(http: httpx.Client) -> None:
    stream_id = store(http, b"")
    got = http.get(f"/streams/{stream_id}")
    assert got.status_code == 200 and got.content == b""
    assert got.headers["content-length"] == "0"


def raw(server: UploadServer, request: bytes, body: bytes = b"", wait: float = 10.0) -> bytes:
    """Send `request` (and then `body`, unless the server answered first); the reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(request)
        reply = b""
        if body:
            sock.settimeout(1.0)
            with contextlib.suppress(TimeoutError):
                reply = sock.recv(65536)
            if reply.startswith(b"HTTP/1.1 100"):
                reply = reply.split(b"\r\n\r\n", 1)[1]
                sock.sendall(body)
            elif not reply:
                sock.sendall(body)
        sock.settimeout(wait)
        return read_reply(sock, reply)


def read_reply(sock: socket.socket, reply: bytes = b"") -> bytes:
    """One whole response (headers and a Content-Length body) from `sock`."""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    head, _, rest = reply.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    while length and len(rest) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_expect_100_continue_is_honoured(server: UploadServer) -> None:
    body = b"testfile contents\n"
    request = (
        f"PUT /v1/streams HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    reply = raw(server, request, body)
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]
    stream_id = json.loads(reply.split(b"\r\n\r\n", 1)[1])["id"]
    got = httpx.get(f"http://127.0.0.1:{server.port}/v1/streams/{stream_id}")
    assert got.content == body


def test_too_large_is_refused_at_once_from_content_length(server: UploadServer) -> None:
    """413 before any byte is read: with Expect: 100-continue no 100 is ever sent."""
    request = (
        f"POST /v1/streams HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_SIZE + 1}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        reply = read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
    assert b"100 Continue" not in reply
    _head, _, body = reply.partition(b"\r\n\r\n")
    assert json.loads(body)["error"]["code"] == "too_large"


def test_a_chunked_body_past_max_size_is_refused_as_it_passes(
    server: UploadServer, store_setup: Setup
) -> None:
    """The 413 arrives while the client is still sending, and nothing is left stored."""
    before = store_setup.stored()
    block = os.urandom(1024 * 1024)
    chunk = b"%x\r\n" % len(block) + block + b"\r\n"
    sent = 0
    reply = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/streams HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        while sent < 4 * MAX_SIZE and not reply:
            sock.sendall(chunk)
            sent += len(block)
            if select.select([sock], [], [], 0)[0]:
                reply = sock.recv(65536)
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in reply and time.monotonic() < deadline:
            reply += sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # Socket buffers hold a few MiB in flight: it was refused near the limit, not the end.
    assert sent < MAX_SIZE + 32 * 1024 * 1024
    assert store_setup.stored() == before


def test_get_headers(http: httpx.Client) -> None:
    stream_id = store(http, b"hello", **{"Content-Type": "text/plain; charset=UTF-8"})
    got = http.get(f"/streams/{stream_id}")
    h = got.headers
    assert got.status_code == 200 and got.content == b"hello"
    assert h["content-type"] == "text/plain; charset=utf-8"
    assert h["content-length"] == "5" and h["accept-ranges"] == "bytes"
    assert h["etag"].startswith('"') and h["last-modified"].endswith(" GMT")
    assert h["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in h
    assert "content-encoding" not in h


def test_head_has_the_get_headers_and_no_body(http: httpx.Client) -> None:
    stream_id = store(http, b"hello", **{"Content-Type": "image/png"})
    got = http.get(f"/streams/{stream_id}")
    head = http.head(f"/streams/{stream_id}")
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "accept-ranges"):
        assert head.headers[name] == got.headers[name]
    assert http.head(f"/streams/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    "declared",
    [
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/x-www-form-urlencoded",
        "application/json",
        "TEXT/HTML; charset=utf-8",
        "not a type",
    ],
)
def test_unsafe_types_are_served_as_attachments(http: httpx.Client, declared: str) -> None:
    stream_id = store(http, b"<script>alert(1)</script>", **{"Content-Type": declared})
    got = http.get(f"/streams/{stream_id}")
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"] == "attachment"


def test_no_content_type_is_an_octet_stream(http: httpx.Client) -> None:
    response = http.post("/streams", content=b"abc", headers={"Content-Type": ""})
    got = http.get(f"/streams/{response.json()['id']}")
    assert got.headers["content-type"] == "application/octet-stream"


def test_ranges(http: httpx.Client) -> None:
    data = bytes(range(256)) * 40
    stream_id = store(http, data)
    url = f"/streams/{stream_id}"
    part = http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.headers["content-length"] == "100"
    tail = http.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    bad = http.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and error_of(bad) == "range_not_satisfiable"
    assert bad.headers["content-range"] == f"bytes */{len(data)}"
    etag = part.headers["etag"]
    same = http.get(url, headers={"Range": "bytes=0-0", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[:1]
    other = http.get(url, headers={"Range": "bytes=0-0", "If-Range": '"other"'})
    assert other.status_code == 200 and other.content == data


def test_conditional_requests(http: httpx.Client) -> None:
    stream_id = store(http, b"cache me")
    url = f"/streams/{stream_id}"
    first = http.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    not_modified = http.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert http.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert http.head(url, headers={"If-None-Match": etag}).status_code == 304
    failed = http.get(url, headers={"If-Match": '"nope"'})
    assert failed.status_code == 412 and error_of(failed) == "precondition_failed"
    assert http.head(url, headers={"If-Match": '"nope"'}).status_code == 412
    assert http.get(url, headers={"If-Match": etag}).status_code == 200


def test_delete_answers_the_seed_body_then_404(http: httpx.Client) -> None:
    stream_id = store(http, b"bye")
    response = http.delete(f"/streams/{stream_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"id": stream_id, "status": "deleted"}
    assert list(response.json()) == ["id", "status"]
    again = http.delete(f"/streams/{stream_id}")
    assert again.status_code == 404 and error_of(again) == "not_found"
    gone = http.get(f"/streams/{stream_id}")
    assert gone.status_code == 404 and error_of(gone) == "not_found"


@pytest.mark.parametrize(
    "stream_id", ["error-in-stream-id", str(uuid.UUID(int=0)), "a.b", "x" * 200, "%00", "é"]
)
def test_unknown_and_malformed_ids_are_404_without_paths(
    http: httpx.Client, data_dir: object, stream_id: str
) -> None:
    for method in ("GET", "DELETE"):
        response = http.request(method, f"/streams/{stream_id}")
        assert response.status_code == 404
        assert error_of(response) == "not_found"
        assert str(data_dir) not in response.text and ".data" not in response.text
    assert http.head(f"/streams/{stream_id}").status_code == 404


def test_other_methods_are_405_in_the_envelope(http: httpx.Client) -> None:
    stream_id = store(http, b"x")
    response = http.patch(f"/streams/{stream_id}", content=b"y")
    assert response.status_code == 405 and error_of(response) == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
    listing = http.delete("/streams")
    assert listing.status_code == 405 and error_of(listing) == "method_not_allowed"


def test_unknown_paths_under_the_api_are_404_in_the_envelope(http: httpx.Client) -> None:
    response = http.get("/nothing-here")
    assert response.status_code == 404 and error_of(response) == "not_found"


def test_tus_still_serves_beside_the_stream_store(server: UploadServer) -> None:
    response = httpx.options(f"http://127.0.0.1:{server.port}/files/")
    assert response.status_code == 204 and response.headers["tus-version"] == "1.0.0"


def test_cors_preflight_allows_put(http: httpx.Client) -> None:
    response = http.options(
        "/streams",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 200
    assert "PUT" in response.headers["access-control-allow-methods"]
