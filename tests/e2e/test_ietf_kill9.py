"""kill -9 of the server while an interop-9 optimistic creation streams its body: what
the 104s acknowledged survives, nothing past what was sent is invented, and the upload
resumes on the restarted server to a byte-exact file."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import MiB, download, file_sha256, random_file, sha256
from tests.ietf.raw import Raw, request

SIZE = 24 * MiB
PIECE = 256 * 1024
V9 = {"Upload-Draft-Interop-Version": "9"}
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def offset_of(port: int, path: str) -> int:
    answer = request(port, "HEAD", path, V9)
    assert answer.status == 204, answer.status
    return int(answer.header("upload-offset") or -1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_mid_creation_then_resume(make_server: MakeServer, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    source = random_file(tmp_path / "source.bin", SIZE, seed=seed)
    data = source.read_bytes()
    server = make_server(tmp_path / "data", "--ietf-progress-interval", "0.1")
    port = server.port
    cut = rng.randrange(4 * MiB, SIZE - 4 * MiB)
    acknowledged = 0
    with Raw(port) as raw:
        raw.start("POST", "/uploads/", {**V9, "Upload-Complete": "?1"}, SIZE)
        status, first = raw.interim()
        assert status == 104
        path = first["location"].removeprefix(f"http://127.0.0.1:{port}")
        sent = 0
        while sent < cut:
            n = min(PIECE, cut - sent)
            raw.send(data[sent : sent + n])
            sent += n
            time.sleep(0.01)
        time.sleep(rng.choice([0.0, 0.05, 0.3]))
        # the last progress 104 the client saw is a promise: those bytes are durable
        raw.sock.settimeout(0.5)
        try:
            while True:
                _status, headers = raw.interim()
                if "upload-offset" in headers:
                    acknowledged = int(headers["upload-offset"])
        except (TimeoutError, OSError, AssertionError):
            pass
        server.kill9()
    restarted = make_server(tmp_path / "data", "--ietf-progress-interval", "0.1", port=port)
    offset = offset_of(restarted.port, path)
    assert 0 < acknowledged <= offset <= sent, (acknowledged, offset, sent)
    done = request(
        port,
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
    assert done.status == 201, (done.status, done.body)
    body = download(f"http://127.0.0.1:{port}{path}")
    assert sha256(body) == file_sha256(source)
