"""Several `upload` instances on the same stores (one data dir; or one bucket and one
Redis / PostgreSQL) serve the same streams and queues: created on one, read and deleted
on another; one FIFO order per queue with writers on both; a long-poll on one wakes
within a second of a write on the other; a read on one survives a delete on the other."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import api, enqueue, store
from .setups import Setup

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def pair(store_setup: Setup) -> Iterator[tuple[UploadServer, UploadServer]]:
    store_setup.data_dir.mkdir(parents=True, exist_ok=True)
    servers = [
        UploadServer(store_setup.data_dir, [*store_setup.args, "--sweep-interval", "1s"])
        for _ in range(2)
    ]
    try:
        for s in servers:
            s.start()
        yield servers[0], servers[1]
    finally:
        for s in servers:
            s.stop()


def client(server: UploadServer) -> httpx.Client:
    return httpx.Client(base_url=api(server), timeout=60)


def test_created_on_one_read_and_deleted_on_the_other(
    pair: tuple[UploadServer, UploadServer],
) -> None:
    a, b = pair
    data = os.urandom(7 * MiB + 5)
    with client(a) as ca, client(b) as cb:
        stream_id = store(ca, data, **{"Content-Type": "image/png"})
        got = cb.get(f"/streams/{stream_id}")
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "image/png"
        assert cb.get(f"/streams/{stream_id}", headers={"Range": "bytes=0-9"}).content == data[:10]
        assert cb.delete(f"/streams/{stream_id}").status_code == 200
        assert ca.get(f"/streams/{stream_id}").status_code == 404
        assert ca.delete(f"/streams/{stream_id}").status_code == 404


def test_one_fifo_order_with_four_writers_on_two_instances(
    pair: tuple[UploadServer, UploadServer],
) -> None:
    queue = f"order-{uuid.uuid4().hex[:8]}"
    per_writer = 10
    made: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def writer(n: int, server: UploadServer) -> None:
        try:
            with client(server) as c:
                made[n] = [enqueue(c, queue, f"{n}:{i}".encode()) for i in range(per_writer)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n, pair[n % 2])) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    listings = []
    for server in pair:
        with client(server) as c:
            page = c.get(f"/queues/{queue}/streams", params={"limit": 1000}).json()
            listings.append([s["id"] for s in page["streams"]])
    assert listings[0] == listings[1]  # one order, whichever instance is asked
    order = listings[0]
    assert sorted(order) == sorted(i for ids in made.values() for i in ids)
    for ids in made.values():  # each writer's streams in the order it made them
        assert [i for i in order if i in set(ids)] == ids
    with client(pair[1]) as c:  # walking next from the first gives the same order
        walked = [c.get(f"/queues/{queue}/first").json()["id"]]
        while len(walked) < len(order):
            walked.append(c.get(f"/queues/{queue}/streams/{walked[-1]}/next").json()["id"])
    assert walked == order


def test_a_long_poll_wakes_within_a_second_of_a_write_elsewhere(
    pair: tuple[UploadServer, UploadServer],
) -> None:
    a, b = pair
    queue = f"wake-{uuid.uuid4().hex[:8]}"
    written: list[float] = []
    made: list[str] = []

    def write_later() -> None:
        time.sleep(1.5)
        with client(b) as cb:
            made.append(enqueue(cb, queue, b"wake up"))
        written.append(time.monotonic())

    thread = threading.Thread(target=write_later)
    thread.start()
    with client(a) as ca:
        response = ca.get(f"/queues/{queue}/first", params={"wait": 30})
        answered = time.monotonic()
        thread.join()
        assert response.status_code == 200 and response.json()["id"] == made[0]
        assert answered - written[0] < 1.0
        # And a follower on `next` of that stream, woken by the next write elsewhere.
        thread = threading.Thread(target=write_later)
        written.clear()
        thread.start()
        nxt = ca.get(f"/queues/{queue}/streams/{made[0]}/next", params={"wait": 30})
        answered = time.monotonic()
        thread.join()
        assert nxt.status_code == 200 and nxt.json()["id"] == made[1]
        assert answered - written[0] < 1.0


def test_a_read_on_one_survives_a_delete_on_the_other(
    pair: tuple[UploadServer, UploadServer], store_setup: Setup
) -> None:
    a, b = pair
    data = os.urandom(16 * MiB)
    before = store_setup.stored()
    with client(a) as ca, client(b) as cb:
        stream_id = store(ca, data)
        h = hashlib.sha256()
        with httpx.stream("GET", f"{api(a)}/streams/{stream_id}", timeout=60) as r:
            blocks = r.iter_bytes(MiB)
            h.update(next(blocks))
            assert cb.delete(f"/streams/{stream_id}").status_code == 200
            for block in blocks:
                h.update(block)
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    deadline = time.monotonic() + 15
    while store_setup.stored() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store_setup.stored() - before == set()
