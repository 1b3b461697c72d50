"""Reads: many readers at once, and a delete while a read runs lets it finish with every
byte (an open file survives unlink; on S3 the object's delete waits for the reader and
happens at the next sweep once it is done)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import httpx

from tests.servers import UploadServer

from .conftest import MAX_SIZE, api, store
from .setups import Setup

MiB = 1024 * 1024


def test_eight_readers_of_a_64_mib_stream(server: UploadServer, http: httpx.Client) -> None:
    data = os.urandom(MAX_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    stream_id = store(http, data)
    results: list[str] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            h = hashlib.sha256()
            with httpx.stream("GET", f"{api(server)}/streams/{stream_id}", timeout=120) as r:
                assert r.status_code == 200
                assert r.headers["content-length"] == str(MAX_SIZE)
                for block in r.iter_bytes(MiB):
                    h.update(block)
            results.append(h.hexdigest())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert results == [digest] * 8


def test_a_delete_during_a_read_lets_it_finish(
    server: UploadServer, http: httpx.Client, store_setup: Setup
) -> None:
    data = os.urandom(24 * MiB)
    before = store_setup.stored()
    stream_id = store(http, data)
    stored = store_setup.stored() - before
    assert stored  # the stream's file or object
    got = bytearray()
    with httpx.stream("GET", f"{api(server)}/streams/{stream_id}", timeout=120) as r:
        blocks = r.iter_bytes(MiB)
        got += next(blocks)
        deleted = http.delete(f"/streams/{stream_id}")
        assert deleted.status_code == 200
        assert http.get(f"/streams/{stream_id}").status_code == 404  # gone for new readers
        if store_setup.is_s3:
            assert store_setup.stored() - before == stored  # deferred: a reader holds it
        else:
            assert store_setup.stored() - before == set()  # unlinked; the reader's fd reads on
        for block in blocks:
            got += block
            time.sleep(0.001)
    assert bytes(got) == data
    deadline = time.monotonic() + 15
    while store_setup.stored() - before and time.monotonic() < deadline:
        time.sleep(0.2)  # S3: the next sweep (every second here) deletes the object
    assert store_setup.stored() - before == set()


def test_a_range_read_survives_a_delete_too(server: UploadServer, http: httpx.Client) -> None:
    data = os.urandom(8 * MiB)
    stream_id = store(http, data)
    with httpx.stream(
        "GET",
        f"{api(server)}/streams/{stream_id}",
        headers={"Range": f"bytes={MiB}-"},
        timeout=60,
    ) as r:
        assert r.status_code == 206
        blocks = r.iter_bytes(256 * 1024)
        got = bytearray(next(blocks))
        assert http.delete(f"/streams/{stream_id}").status_code == 200
        for block in blocks:
            got += block
    assert bytes(got) == data[MiB:]
