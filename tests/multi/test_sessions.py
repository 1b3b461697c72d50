"""Session uploads on two instances sharing one S3 bucket (SeaweedFS) and one state
backend (Redis, then PostgreSQL).

1. A 200 MiB file in 8 MiB chunks, 8 in flight, alternating between the instances;
   completed on the other one; the download's sha256 is the source's, and the bucket
   prefix holds exactly one object (no multipart upload left).
2. kill -9 of the instance running a completion (with a whole-file checksum, so it
   reads the object back); the other instance completes: the same attachment, right
   bytes, one object.
3. Abort and expiry leave nothing in the bucket.
"""

from __future__ import annotations

import base64
import hashlib
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.servers import UploadServer

from .cluster import leftovers, stream_sha256
from .conftest import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.services]

MiB = 1024 * 1024
SIZE = 200 * MiB
CHUNK = 8 * MiB


def _api(server: UploadServer) -> str:
    return f"http://127.0.0.1:{server.port}/attachment"


def _chunk(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _initiate(server: UploadServer, size: int, **extra: object) -> dict[str, object]:
    r = httpx.post(
        _api(server) + "/initiate", json={"fileName": "big.bin", "fileSize": size, **extra}
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def _put(server: UploadServer, sid: str, index: int, body: bytes) -> int:
    with httpx.Client(timeout=120) as c:
        r = c.put(f"{_api(server)}/session/{sid}/upload/{index}", content=body)
    assert r.status_code == 200, (index, r.text)
    return int(r.json()["receivedCount"])


def test_200_mib_in_8_parallel_chunks_across_two_instances(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    s = _initiate(a, SIZE)
    sid, total = str(s["sessionId"]), int(str(s["totalChunks"]))
    assert s["chunkSize"] == CHUNK and total == SIZE // CHUNK
    digest = hashlib.sha256()
    for i in range(total):
        digest.update(_chunk(i, CHUNK))

    def send(i: int) -> int:
        return _put((a, b)[i % 2], sid, i, _chunk(i, CHUNK))

    order = list(range(total))
    random.Random(7).shuffle(order)
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(send, order))
    assert sorted(counts) == list(range(1, total + 1)), cluster.logs()
    state = httpx.get(f"{_api(a)}/session/{sid}").json()
    assert state["missingChunks"] == [] and len(state["receivedChunks"]) == total
    r = httpx.post(f"{_api(b)}/session/{sid}/complete", timeout=120)
    assert r.status_code == 201, r.text + cluster.logs()
    aid = r.json()["attachmentId"]
    again = httpx.post(f"{_api(a)}/session/{sid}/complete", timeout=120)
    assert again.status_code == 200 and again.json()["attachmentId"] == aid
    assert stream_sha256(f"{_api(a)}/{aid}") == (SIZE, digest.hexdigest())
    objects, uploads = leftovers(cluster.weed, cluster.prefix)
    assert objects == [cluster.prefix + aid] and uploads == [], (objects, uploads)


def test_kill9_during_complete_then_the_other_instance_completes(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    size = 5 * CHUNK + 11
    data = b"".join(_chunk(100 + i, CHUNK) for i in range(6))[:size]
    checksum = "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    sid = str(_initiate(a, size, checksum=checksum)["sessionId"])
    for i in range(6):
        _put((a, b)[i % 2], sid, i, data[i * CHUNK : (i + 1) * CHUNK])
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    sock.sendall(
        f"POST /attachment/session/{sid}/complete HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    time.sleep(0.3)
    a.kill9()
    sock.close()
    # A's lock on the session lasts until its lease ends (Redis) or its session drops
    # (PostgreSQL): B answers 423 meanwhile, and the client retries.
    deadline = time.monotonic() + 30
    while True:
        r = httpx.post(f"{_api(b)}/session/{sid}/complete", timeout=120)
        if r.status_code != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code in (200, 201), r.text + cluster.logs()
    aid = r.json()["attachmentId"]
    got = httpx.get(f"{_api(b)}/{aid}", timeout=60)
    assert got.status_code == 200 and got.content == data
    objects, uploads = leftovers(cluster.weed, cluster.prefix)
    assert objects == [cluster.prefix + aid] and uploads == [], (objects, uploads)


def test_abort_and_expiry_leave_nothing_in_the_bucket(cluster: Cluster) -> None:
    a, b = cluster.start(2, "--session-expire-after", "2s", "--sweep-interval", "0.3s")
    aborted = str(_initiate(a, 2 * CHUNK)["sessionId"])
    _put(a, aborted, 0, _chunk(1, CHUNK))
    _put(b, aborted, 1, _chunk(2, CHUNK))
    _, uploads = leftovers(cluster.weed, cluster.prefix)
    assert uploads, "the session's multipart upload should exist"
    r = httpx.post(f"{_api(b)}/session/{aborted}/abort")
    assert r.status_code == 200, r.text
    assert leftovers(cluster.weed, cluster.prefix) == ([], [])
    expiring = str(_initiate(b, 2 * CHUNK)["sessionId"])
    _put(a, expiring, 1, _chunk(3, CHUNK))
    deadline = time.monotonic() + 20
    while leftovers(cluster.weed, cluster.prefix) != ([], []) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftovers(cluster.weed, cluster.prefix) == ([], [])
    r = httpx.get(f"{_api(a)}/session/{expiring}")
    assert r.status_code == 410 and r.json()["error"]["code"] == "session_expired"
