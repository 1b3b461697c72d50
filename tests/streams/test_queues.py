"""FIFO queues (the seed's TODO), on every store setup: store into a queue, list it in
pages with cursors that survive deletes, first / next / prev, long-polls, the queue
list, ETag / 304 on listings and gzip / deflate past 860 bytes."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import uuid
import zlib

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import api, enqueue, error_of, store
from .test_streams import read_reply


def qname() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def listing(http: httpx.Client, queue: str, **params: object) -> httpx.Response:
    response = http.get(f"/queues/{queue}/streams", params=params)
    assert response.status_code == 200, response.text
    return response


def ids_of(response: httpx.Response) -> list[str]:
    return [s["id"] for s in response.json()["streams"]]


def test_store_into_a_queue(http: httpx.Client) -> None:
    queue = qname()
    response = http.post(
        f"/queues/{queue}/streams", content=b"order 1", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["id", "queue", "status"]
    assert body["queue"] == queue and body["status"] == "created"
    assert response.headers["location"] == f"/v1/streams/{body['id']}"
    assert http.get(f"/streams/{body['id']}").content == b"order 1"
    put = http.put(f"/queues/{queue}/streams", content=b"order 2")
    assert put.status_code == 201 and put.json()["queue"] == queue


def test_descriptors(http: httpx.Client) -> None:
    queue = qname()
    a = enqueue(http, queue, b"12345", **{"Content-Type": "image/png"})
    b = enqueue(http, queue, b"<b>x</b>", **{"Content-Type": "text/html"})
    streams = listing(http, queue).json()["streams"]
    assert [list(s) for s in streams] == [["id", "queue", "size", "contentType", "created"]] * 2
    assert streams[0]["id"] == a and streams[0]["size"] == 5
    assert streams[0]["contentType"] == "image/png"
    assert streams[1]["id"] == b and streams[1]["contentType"] == "application/octet-stream"
    assert http.get(f"/streams/{b}").headers["content-type"] == streams[1]["contentType"]
    created = streams[0]["created"]
    assert created.endswith("Z") and created[10] == "T"
    assert created <= streams[1]["created"]


def test_pages_follow_fifo_order_and_cursors_survive_deletes(http: httpx.Client) -> None:
    queue = qname()
    ids = [enqueue(http, queue, f"{i}".encode()) for i in range(7)]
    first = listing(http, queue, limit=3).json()
    assert [s["id"] for s in first["streams"]] == ids[:3]
    assert first["queue"] == queue and isinstance(first["next"], str)
    # Delete around the cursor: the next page starts after it all the same.
    for gone in (ids[2], ids[3]):
        assert http.delete(f"/streams/{gone}").status_code == 200
    second = listing(http, queue, limit=3, cursor=first["next"]).json()
    assert [s["id"] for s in second["streams"]] == ids[4:7]
    assert second["next"] is None
    assert ids_of(listing(http, queue)) == [ids[0], ids[1], *ids[4:]]


def test_limit_and_cursor_are_checked(http: httpx.Client) -> None:
    queue = qname()
    enqueue(http, queue)
    for bad in ("0", "-1", "1001", "x", "1.5"):
        response = http.get(f"/queues/{queue}/streams", params={"limit": bad})
        assert response.status_code == 400 and error_of(response) == "bad_request"
        assert response.json()["error"]["errors"][0]["name"] == "limit"
    assert len(ids_of(listing(http, queue, limit=1000))) == 1
    for bad in ("garbage", "MS4yLmU1MmZmZGVl", ""):
        response = http.get(f"/queues/{queue}/streams", params={"cursor": bad})
        assert response.status_code == 400 and error_of(response) == "bad_request"
    other = listing(http, qname()).json()  # a cursor of another queue is refused too
    assert other == {"queue": other["queue"], "streams": [], "next": None}


def test_limit_defaults_to_100(http: httpx.Client) -> None:
    queue = qname()
    for _ in range(101):
        enqueue(http, queue)
    page = listing(http, queue).json()
    assert len(page["streams"]) == 100 and page["next"] is not None
    rest = listing(http, queue, cursor=page["next"]).json()
    assert len(rest["streams"]) == 1 and rest["next"] is None


@pytest.mark.parametrize("bad", ["...", "....", "a b", "é", "x" * 129, "a:b", "a*", "%00"])
def test_queue_names_are_checked(http: httpx.Client, bad: str) -> None:
    for method, path in (
        ("POST", f"/queues/{bad}/streams"),
        ("GET", f"/queues/{bad}/streams"),
        ("GET", f"/queues/{bad}/first"),
    ):
        response = http.request(method, path, content=b"x" if method == "POST" else None)
        assert response.status_code == 400, (method, path, response.text)
        assert error_of(response) == "bad_request"


@pytest.mark.parametrize("bad", [".", ".."])
def test_dot_segments_as_queue_names_are_400(server: UploadServer, bad: str) -> None:
    """Sent as they are (httpx would resolve them as dot segments)."""
    for request in (
        f"POST /v1/queues/{bad}/streams HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
        f"GET /v1/queues/{bad}/first HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request.encode())
            reply = read_reply(sock)
        assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
        assert b'"code":"bad_request"' in reply


def test_good_queue_names(http: httpx.Client) -> None:
    for good in (".hidden", "a.b-c_d", "X" * 128, "0"):
        queue = f"{good[:100]}" if good != "0" else f"0{uuid.uuid4().hex[:6]}"
        assert http.post(f"/queues/{queue}/streams", content=b"x").status_code == 201


def test_first_next_prev(http: httpx.Client) -> None:
    queue = qname()
    a, b, c = (enqueue(http, queue, x) for x in (b"a", b"b", b"c"))
    first = http.get(f"/queues/{queue}/first")
    assert first.status_code == 200 and first.json()["id"] == a
    assert list(first.json()) == ["id", "queue", "size", "contentType", "created"]
    assert http.get(f"/queues/{queue}/streams/{a}/next").json()["id"] == b
    assert http.get(f"/queues/{queue}/streams/{c}/prev").json()["id"] == b
    none_after = http.get(f"/queues/{queue}/streams/{c}/next")
    assert none_after.status_code == 404 and error_of(none_after) == "not_found"
    none_before = http.get(f"/queues/{queue}/streams/{a}/prev")
    assert none_before.status_code == 404 and error_of(none_before) == "not_found"
    # Deleting b links its neighbours past it; b's own position still works.
    assert http.delete(f"/streams/{b}").status_code == 200
    assert http.get(f"/queues/{queue}/streams/{a}/next").json()["id"] == c
    assert http.get(f"/queues/{queue}/streams/{c}/prev").json()["id"] == a
    assert http.get(f"/queues/{queue}/streams/{b}/next").json()["id"] == c
    assert http.delete(f"/streams/{a}").status_code == 200
    assert http.get(f"/queues/{queue}/first").json()["id"] == c


def test_next_of_a_stream_not_in_that_queue_is_404(http: httpx.Client) -> None:
    queue, other = qname(), qname()
    mine = enqueue(http, queue)
    theirs = enqueue(http, other)
    loose = store(http, b"no queue")
    for stream_id in (theirs, loose, str(uuid.uuid4())):
        for way in ("next", "prev"):
            response = http.get(f"/queues/{queue}/streams/{stream_id}/{way}")
            assert response.status_code == 404 and error_of(response) == "not_found"
    assert http.get(f"/queues/{queue}/streams/{mine}/next").status_code == 404
    bad = http.get(f"/queues/{queue}/streams/a.b/next")
    assert bad.status_code == 404 and error_of(bad) == "not_found"


def test_first_of_an_empty_queue_is_404_at_once(http: httpx.Client) -> None:
    start = time.monotonic()
    response = http.get(f"/queues/{qname()}/first")
    assert response.status_code == 404 and error_of(response) == "not_found"
    assert time.monotonic() - start < 1.0


def test_wait_is_checked(http: httpx.Client) -> None:
    for bad in ("-1", "x", "nan", "inf"):
        response = http.get(f"/queues/{qname()}/first", params={"wait": bad})
        assert response.status_code == 400 and error_of(response) == "bad_request"


def test_first_waits_for_a_stream_then_answers(http: httpx.Client, server: UploadServer) -> None:
    queue = qname()
    made: list[tuple[str, float]] = []

    def later() -> None:
        time.sleep(1.0)
        with httpx.Client(base_url=api(server)) as c:
            made.append((enqueue(c, queue, b"late"), time.monotonic()))

    thread = threading.Thread(target=later)
    thread.start()
    start = time.monotonic()
    response = http.get(f"/queues/{queue}/first", params={"wait": 20})
    took = time.monotonic()
    thread.join()  # the answer may come before the writer's thread notes its 201
    assert response.status_code == 200
    assert response.json()["id"] == made[0][0]
    assert 0.8 <= took - start < 10 and took - made[0][1] < 1.0


def test_a_wait_that_sees_nothing_is_404_after_the_wait(http: httpx.Client) -> None:
    queue = qname()
    last = enqueue(http, queue)
    start = time.monotonic()
    response = http.get(f"/queues/{queue}/streams/{last}/next", params={"wait": 1.2})
    assert response.status_code == 404 and error_of(response) == "not_found"
    assert 1.1 <= time.monotonic() - start < 5


def test_wait_above_sixty_is_clamped_not_refused(http: httpx.Client) -> None:
    queue = qname()
    enqueue(http, queue)
    response = http.get(f"/queues/{queue}/first", params={"wait": 3600})
    assert response.status_code == 200


def test_follow_loop_sees_every_stream_in_order(http: httpx.Client, server: UploadServer) -> None:
    queue = qname()
    sent: list[str] = []

    def producer() -> None:
        with httpx.Client(base_url=api(server)) as c:
            for i in range(5):
                sent.append(enqueue(c, queue, f"{i}".encode()))
                time.sleep(0.1)

    thread = threading.Thread(target=producer)
    thread.start()
    seen: list[str] = []
    first = http.get(f"/queues/{queue}/first", params={"wait": 20})
    assert first.status_code == 200
    seen.append(first.json()["id"])
    while len(seen) < 5:
        nxt = http.get(f"/queues/{queue}/streams/{seen[-1]}/next", params={"wait": 20})
        assert nxt.status_code == 200
        seen.append(nxt.json()["id"])
    thread.join()
    assert seen == sent


def test_consume_and_delete_loop_drains_the_queue(http: httpx.Client) -> None:
    queue = qname()
    sent = [enqueue(http, queue, f"m{i}".encode()) for i in range(4)]
    got: list[bytes] = []
    while True:
        first = http.get(f"/queues/{queue}/first", params={"wait": 0.2})
        if first.status_code == 404:
            break
        stream_id = first.json()["id"]
        got.append(http.get(f"/streams/{stream_id}").content)
        assert http.delete(f"/streams/{stream_id}").status_code == 200
    assert got == [b"m0", b"m1", b"m2", b"m3"] and len(sent) == 4
    assert ids_of(listing(http, queue)) == []


def test_queue_list(http: httpx.Client) -> None:
    base = qname()
    a, b = f"{base}-a", f"{base}-b"
    enqueue(http, a)
    enqueue(http, a)
    only = enqueue(http, b)
    response = http.get("/queues")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    queues = response.json()["queues"]
    assert [q for q in queues if q["queue"].startswith(base)] == [
        {"queue": a, "streams": 2},
        {"queue": b, "streams": 1},
    ]
    http.delete(f"/streams/{only}")
    after = http.get("/queues").json()["queues"]
    assert b not in {q["queue"] for q in after}


def test_listings_carry_an_etag_and_answer_304(http: httpx.Client) -> None:
    queue = qname()
    enqueue(http, queue)
    first = listing(http, queue)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    same = http.get(f"/queues/{queue}/streams", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    enqueue(http, queue)
    changed = http.get(f"/queues/{queue}/streams", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    queues = http.get("/queues")
    tag = queues.headers["etag"]
    assert http.get("/queues", headers={"If-None-Match": tag}).status_code == 304
    assert http.get("/queues", headers={"If-None-Match": f'"x", {tag}'}).status_code == 304


def test_json_is_compressed_past_860_bytes(server: UploadServer, http: httpx.Client) -> None:
    queue = qname()
    for _ in range(8):
        enqueue(http, queue)
    url = f"{api(server)}/queues/{queue}/streams"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert len(plain.content) > 860 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    for coding, unpack in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
        with httpx.Client() as raw:
            response = raw.send(
                raw.build_request("GET", url, headers={"Accept-Encoding": coding}), stream=True
            )
            packed = response.read()  # httpx decodes; check the wire form below
            assert response.headers["content-encoding"] == coding
            assert response.headers["vary"] == "Accept-Encoding"
            wire = int(response.headers["content-length"])
            assert wire < len(plain.content)
            assert packed == plain.content
            assert unpack is not None
    small = http.get(f"/queues/{queue}/first", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert small.headers["vary"] == "Accept-Encoding"


def test_stream_bytes_are_never_compressed(http: httpx.Client) -> None:
    stream_id = store(http, b"a" * 10000, **{"Content-Type": "text/plain"})
    response = http.get(f"/streams/{stream_id}", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == "10000"


def test_a_queued_stream_deleted_through_tus_leaves_its_queue(
    http: httpx.Client, server: UploadServer
) -> None:
    queue = qname()
    stream_id = enqueue(http, queue)
    tus = httpx.delete(
        f"http://127.0.0.1:{server.port}/files/{stream_id}", headers={"Tus-Resumable": "1.0.0"}
    )
    assert tus.status_code == 204
    deadline = time.monotonic() + 5
    while ids_of(listing(http, queue)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ids_of(listing(http, queue)) == []
