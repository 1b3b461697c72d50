"""PUT /attachment/session/<id>/upload/<chunk>: exact lengths, digests, any order, in
parallel, retries that replace, and interrupted bodies that leave the chunk absent."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import (
    CHUNK,
    chunks_of,
    error_code,
    initiate,
    open_put,
    put,
    sha256_digest,
    upload_all,
)


def received(http: httpx.Client, sid: str) -> list[int]:
    r = http.get(f"/session/{sid}")
    assert r.status_code == 200, r.text
    return list(r.json()["receivedChunks"])


def download(http: httpx.Client, sid: str) -> bytes:
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code in (200, 201), r.text
    got = http.get(r.headers["Location"])
    assert got.status_code == 200
    return got.content


def test_chunks_in_any_order_answer_receipts(http: httpx.Client) -> None:
    data = os.urandom(3 * CHUNK + 5)
    sid = initiate(http, len(data))["sessionId"]
    parts = chunks_of(data)
    for n, i in enumerate([3, 0, 2, 1], start=1):
        r = put(http, sid, i, parts[i])
        assert r.status_code == 200, r.text
        assert r.json() == {
            "sessionId": sid, "chunkId": i, "size": len(parts[i]), "receivedCount": n
        }  # fmt: skip
        assert isinstance(r.json()["chunkId"], int)
    assert received(http, sid) == [0, 1, 2, 3]
    assert download(http, sid) == data


def test_a_zero_byte_file_is_one_empty_chunk(http: httpx.Client) -> None:
    sid = initiate(http, 0)["sessionId"]
    r = put(http, sid, 0, b"")
    assert r.status_code == 200 and r.json()["size"] == 0
    assert download(http, sid) == b""


@pytest.mark.parametrize("body", [b"x" * (CHUNK - 1), b"x" * (CHUNK + 1), b""])
def test_a_body_of_the_wrong_length_stores_nothing(http: httpx.Client, body: bytes) -> None:
    sid = initiate(http, 2 * CHUNK)["sessionId"]
    r = put(http, sid, 0, body)
    assert r.status_code == 400 and error_code(r) == "chunk_size_mismatch"
    assert received(http, sid) == []


def test_a_streamed_body_passing_the_length_is_refused_at_once(http: httpx.Client) -> None:
    """Chunked transfer (no Content-Length): refused once the body passes the chunk."""
    sid = initiate(http, 2 * CHUNK)["sessionId"]
    sent = []

    def body() -> object:
        for _ in range(64):
            sent.append(1)
            yield b"y" * 16384

    try:
        r = http.put(f"/session/{sid}/upload/1", content=body())  # type: ignore[arg-type]
        assert r.status_code == 400 and error_code(r) == "chunk_size_mismatch"
    except httpx.HTTPError:
        pass  # the server may close before the client has sent everything
    assert received(http, sid) == []


def test_the_last_chunk_is_shorter(http: httpx.Client) -> None:
    data = os.urandom(CHUNK + 10)
    sid = initiate(http, len(data))["sessionId"]
    r = put(http, sid, 1, b"z" * CHUNK)
    assert r.status_code == 400 and error_code(r) == "chunk_size_mismatch"
    assert put(http, sid, 1, data[CHUNK:]).json()["size"] == 10


def test_out_of_range_is_416_and_bad_indexes_400(http: httpx.Client) -> None:
    sid = initiate(http, 2 * CHUNK)["sessionId"]
    r = put(http, sid, 2, b"x")
    assert r.status_code == 416 and error_code(r) == "chunk_out_of_range"
    for bad in ("-1", "x", "1.5", "99999999999999999999"):
        r = http.put(f"/session/{sid}/upload/{bad}", content=b"x")
        assert r.status_code == 400, (bad, r.text)
        assert error_code(r) == "bad_request"


def test_unknown_session_is_404(http: httpx.Client) -> None:
    r = put(http, "0123456789abcdef", 0, b"x")
    assert r.status_code == 404 and error_code(r) == "session_not_found"
    r = http.get("/session/not_a_session")
    assert r.status_code == 404 and error_code(r) == "session_not_found"
    r = http.put("/session/bad.id/upload/0", content=b"x")
    assert r.status_code in (400, 404)


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_digests_are_checked(http: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    a, b = chunks_of(data)
    assert put(http, sid, 0, a, **{"Content-Digest": sha256_digest(a)}).status_code == 200
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(b).digest()).decode() + ":"
    assert put(http, sid, 1, b, **{"Content-Digest": sha512}).status_code == 200
    assert put(http, sid, 1, b, **{"Content-MD5": _md5(b)}).status_code == 200
    assert (
        put(http, sid, 1, b, **{"Content-Digest": f"unixsum=:AAAA:, {sha512}"}).status_code == 200
    )
    assert received(http, sid) == [0, 1]


def test_a_digest_mismatch_stores_nothing(http: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    a, b = chunks_of(data)
    put(http, sid, 0, a)
    for headers in ({"Content-Digest": sha256_digest(b)}, {"Content-MD5": _md5(b)}):
        r = put(http, sid, 0, a, **headers)
        assert r.status_code == 400 and error_code(r) == "checksum_mismatch"
        assert received(http, sid) == []  # the earlier copy was replaced by nothing
        put(http, sid, 0, a)


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Digest": "sha-256=AAAA"},
        {"Content-Digest": "sha-256=:!!:"},
        {"Content-Digest": "sha-256=:AAAA:"},
        {"Content-Digest": "md5=:1B2M2Y8AsgTpgAmY7PhCfg==:"},
        {"Content-MD5": "nope"},
        {"Content-MD5": "AAAA"},
    ],
)
def test_malformed_or_unsupported_digests_are_bad_digest(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    sid = initiate(http, 10)["sessionId"]
    r = put(http, sid, 0, b"0123456789", **headers)
    assert r.status_code == 400 and error_code(r) == "bad_digest", r.text
    assert received(http, sid) == []


def test_sending_a_chunk_again_replaces_it(http: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    put(http, sid, 0, os.urandom(CHUNK))
    upload_all(http, sid, data)
    r = put(http, sid, 1, data[CHUNK:])
    assert r.json()["receivedCount"] == 2
    assert download(http, sid) == data


def test_chunks_in_parallel(http: httpx.Client, server: UploadServer) -> None:
    data = os.urandom(16 * CHUNK + 77)
    sid = initiate(http, len(data))["sessionId"]
    parts = chunks_of(data)
    statuses: dict[int, int] = {}

    def send(indexes: list[int]) -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=30) as c:
            for i in indexes:
                statuses[i] = put(c, sid, i, parts[i]).status_code

    threads = [threading.Thread(target=send, args=(list(range(k, 17, 6)),)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == dict.fromkeys(range(17), 200)
    assert download(http, sid) == data


def test_an_interrupted_chunk_is_absent_then_retried(
    http: httpx.Client, server: UploadServer
) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    sock = open_put(server, sid, 1, CHUNK)
    sock.sendall(data[CHUNK : CHUNK + CHUNK // 2])
    time.sleep(0.3)
    sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and received(http, sid):
        time.sleep(0.05)
    assert received(http, sid) == []
    upload_all(http, sid, data)
    assert download(http, sid) == data


def test_a_retry_of_a_stalled_chunk_takes_it_over(http: httpx.Client, server: UploadServer) -> None:
    """The first PUT of chunk 0 stalls with its connection open; the client's retry of
    the same chunk stops it (503 for the old one) and is stored."""
    data = os.urandom(CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    sock = open_put(server, sid, 0, CHUNK)
    sock.sendall(data[:1000])
    time.sleep(0.3)
    r = put(http, sid, 0, data)
    assert r.status_code == 200, r.text
    sock.settimeout(5)
    answer = sock.recv(200)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer
    assert download(http, sid) == data


def test_put_after_completion_is_409(http: httpx.Client) -> None:
    sid = initiate(http, 5)["sessionId"]
    put(http, sid, 0, b"hello")
    assert http.post(f"/session/{sid}/complete").status_code == 201
    r = put(http, sid, 0, b"hello")
    assert r.status_code == 409 and error_code(r) == "session_completed"
