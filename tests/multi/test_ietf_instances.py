"""The IETF draft across instances sharing state (S3 on SeaweedFS + Redis or PostgreSQL):
an interop-9 creation streams to one instance, which is killed (-9) mid-body; another
instance answers the offset the progress 104s promised and takes the rest, and the object
in the bucket is byte-exact."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import MiB, random_file
from tests.ietf.raw import Raw, request

from .cluster import stream_sha256
from .conftest import Cluster

SIZE = 30 * MiB
PIECE = 512 * 1024
V9 = {"Upload-Draft-Interop-Version": "9"}
pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(240)]


def test_creation_on_one_instance_resumed_on_another_after_kill9(
    cluster: Cluster, tmp_path: Path
) -> None:
    first, second = cluster.start(2, "--ietf-progress-interval", "0.2")
    source = random_file(tmp_path / "source.bin", SIZE, seed=9)
    data = source.read_bytes()
    acknowledged = 0
    with Raw(first.port) as raw:
        raw.start("POST", "/uploads/", {**V9, "Upload-Complete": "?1"}, SIZE)
        status, announced = raw.interim()
        assert status == 104
        path = announced["location"].removeprefix(f"http://127.0.0.1:{first.port}")
        sent = 0
        while sent < SIZE // 2:
            raw.send(data[sent : sent + PIECE])
            sent += PIECE
            time.sleep(0.02)
        raw.sock.settimeout(1.0)
        try:
            while True:
                _status, headers = raw.interim()
                if "upload-offset" in headers:
                    acknowledged = int(headers["upload-offset"])
        except (TimeoutError, OSError, AssertionError):
            pass
        first.kill9()
    assert acknowledged > 0

    state = request(second.port, "HEAD", path, V9)
    assert state.status == 204, (state.status, cluster.logs())
    offset = int(state.header("upload-offset") or -1)
    assert acknowledged <= offset <= sent
    # the dead instance's lock lasts until its lease ends: a client retries 423
    deadline = time.monotonic() + 30
    while True:
        done = request(
            second.port,
            "PATCH",
            path,
            {
                **V9,
                "Upload-Offset": str(offset),
                "Upload-Complete": "?1",
                "Content-Type": "application/partial-upload",
            },
            data[offset:],
        )
        if done.status != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert done.status == 201, (done.status, done.body, cluster.logs())
    assert done.header("upload-complete") == "?1"
    n, digest = stream_sha256(f"http://127.0.0.1:{second.port}{path}", logs=cluster.logs)
    assert (n, digest) == (SIZE, hashlib.sha256(data).hexdigest())
